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
