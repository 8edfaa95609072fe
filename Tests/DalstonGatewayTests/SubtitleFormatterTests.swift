@testable import DalstonGateway
import DalstonPipeline
import Testing

@Suite("Subtitles")
struct SubtitleFormatterTests {
    static let transcript = Transcript(
        text: "hello world this is a test of the transcription system again",
        languageCode: "en", duration: 6,
        segments: [
            TranscriptSegment(id: 0, start: 0.1, end: 3.0, text: "hello world this is a test of the transcription system"),
            TranscriptSegment(id: 1, start: 4.2, end: 4.8, text: "again"),
        ],
        words: [
            ("hello", 0.1, 0.4), ("world", 0.45, 0.8), ("this", 0.9, 1.0), ("is", 1.05, 1.1), ("a", 1.15, 1.2), ("test", 1.25, 1.5),
            ("of", 1.55, 1.6), ("the", 1.65, 1.7), ("transcription", 1.75, 2.5), ("system", 2.55, 3.0), ("again", 4.2, 4.8),
        ].map { TranscriptWord(text: $0.0, start: $0.1, end: $0.2) })

    @Test func cuesRespectLineLengthLineCountAndPauses() {
        let formatter = SubtitleFormatter(maximumLineLength: 16, maximumLines: 2)
        let cues = formatter.cues(Self.transcript)
        #expect(cues.allSatisfy { $0.lines.count <= 2 && $0.lines.allSatisfy { $0.count <= 16 } }, "\(cues)")
        #expect(cues.flatMap { $0.lines.joined(separator: " ").split(separator: " ") }.joined(separator: " ") == Self.transcript.text)
        #expect(cues.last == .init(start: 4.2, end: 4.8, lines: ["again"]), "a pause starts a new cue")
        #expect(zip(cues, cues.dropFirst()).allSatisfy { $0.end <= $1.start })
    }

    @Test func srtAndWebVTTText() {
        let formatter = SubtitleFormatter(maximumLineLength: 42, maximumLines: 2)
        #expect(formatter.srt(Self.transcript) == """
            1
            00:00:00,100 --> 00:00:03,000
            hello world this is a test of the
            transcription system

            2
            00:00:04,200 --> 00:00:04,800
            again

            """)
        #expect(formatter.vtt(Self.transcript).hasPrefix("WEBVTT\n\n00:00:00.100 --> 00:00:03.000\nhello world"))
        #expect(SubtitleFormatter.time(3723.4567, separator: ",") == "01:02:03,457")
    }

    @Test func withoutWordTimesSegmentsAreSharedOutByLength() {
        var transcript = Self.transcript
        transcript.words = []
        let cues = SubtitleFormatter(maximumLineLength: 20, maximumLines: 1).cues(transcript)
        #expect(cues.count > 2 && cues.first?.start == 0.1 && abs((cues.dropLast().last?.end ?? 0) - 3.0) < 0.001, "\(cues)")
    }
}

@Suite("Subtitles and text with speakers")
struct SpeakerExportTests {
    static let transcript: Transcript = {
        var transcript = Transcript(
            text: "hello there hi again", languageCode: "en", duration: 6,
            segments: [
                TranscriptSegment(id: 0, start: 0.1, end: 1.2, text: "hello there", speaker: "SPEAKER_00"),
                TranscriptSegment(id: 1, start: 2.4, end: 3.0, text: "hi", speaker: "SPEAKER_01"),
                TranscriptSegment(id: 2, start: 4.5, end: 5.2, text: "again", speaker: "SPEAKER_01"),
            ],
            words: [
                TranscriptWord(text: "hello", start: 0.2, end: 0.6, speaker: "SPEAKER_00"), TranscriptWord(text: "there", start: 0.7, end: 1.2, speaker: "SPEAKER_00"),
                TranscriptWord(text: "hi", start: 2.4, end: 2.8, speaker: "SPEAKER_01"), TranscriptWord(text: "again", start: 4.6, end: 5.0, speaker: "SPEAKER_01"),
            ])
        transcript.speakers = ["SPEAKER_00", "SPEAKER_01"]
        return transcript
    }()

    @Test func cuesNameTheirSpeakerAndTextHasAParagraphPerTurn() {
        let formatter = SubtitleFormatter()
        #expect(formatter.vtt(Self.transcript).contains("<v Speaker 1>hello there\n"))
        #expect(formatter.srt(Self.transcript).contains("<v Speaker 2>hi\n"))
        #expect(formatter.plainText(Self.transcript) == "Speaker 1: hello there\n\nSpeaker 2: hi again\n")
        var plain = SubtitleFormatter()
        plain.includeSpeakers = false
        #expect(!plain.vtt(Self.transcript).contains("<v "))
        #expect(plain.plainText(Self.transcript) == "hello there hi again\n")
    }

    @Test func aSpeakerNameCannotBreakOutOfItsVoiceTag() {
        #expect(SubtitleFormatter.voiceName("SPEAKER_04") == "Speaker 5")
        #expect(SubtitleFormatter.voiceName("Ann>\n<b>") == "Annb")
    }
}
