import DalstonAudio
@testable import DalstonGateway
import DalstonPipeline
import Foundation
import Testing

/// The speaker fields the gateway checks before a job exists: per-channel channel counts, OpenAI's
/// known speakers and their reference clips, and how diarized_json names speakers.
@Suite("Speakers: request fields")
struct SpeakerFieldTests {
    @Test func perChannelNeedsTwoToTheDialectsMostChannels() throws {
        #expect(try UploadIntake.channelsToSplit(2, field: "speaker_detection", most: 8) == 2)
        #expect(try UploadIntake.channelsToSplit(5, field: "use_multi_channel", most: 5) == 5)
        for (channels, most) in [(1, 8), (6, 5), (nil, 8)] as [(Int?, Int)] {
            #expect {
                _ = try UploadIntake.channelsToSplit(channels, field: "use_multi_channel", most: most)
            } throws: { error in
                (error as? APIError)?.param == "use_multi_channel" && (error as? APIError)?.message.contains("use_multi_channel") == true
            }
        }
    }

    static func upload(_ fields: [String: [String]]) -> ReceivedUpload {
        var upload = ReceivedUpload()
        upload.fields = fields
        return upload
    }

    static func dataURL(seconds: Double) -> String {
        let samples = (0..<Int(seconds * 16_000)).map { Float(sin(Double($0) * 0.05)) * 0.3 }
        return "data:audio/wav;base64," + Data(WAVEncoder.encode16BitMono(samples, sampleRate: 16_000)).base64EncodedString()
    }

    @Test func knownSpeakersAreNamedClipsOfTwoToTenSeconds() async throws {
        let known = try await KnownSpeakerReferences.read(
            Self.upload(["known_speaker_names[]": ["agent", "customer"], "known_speaker_references[]": [Self.dataURL(seconds: 3), Self.dataURL(seconds: 9.5)]]),
            diarizing: true)
        #expect(known.clips.map(\.name) == ["agent", "customer"])
        #expect(known.clips.map(\.samples.count) == [48_000, 152_000], "kept as 16 kHz mono")
        #expect(try await KnownSpeakerReferences.read(Self.upload([:]), diarizing: false).clips.isEmpty, "none asked: nothing to check")
    }

    @Test func badKnownSpeakersAreA400NamingTheField() async throws {
        let clip = Self.dataURL(seconds: 3)
        let names = KnownSpeakerReferences.namesField
        let references = KnownSpeakerReferences.referencesField
        let cases: [([String: [String]], Bool, String)] = [
            ([names: ["agent"], references: [clip]], false, names),
            ([names: ["agent", "customer"], references: [clip]], true, references),
            ([names: ["a", "b", "c", "d", "e"], references: Array(repeating: clip, count: 5)], true, names),
            ([names: ["agent", "agent"], references: [clip, clip]], true, names),
            ([names: [""], references: [clip]], true, names),
            ([names: ["agent"], references: ["https://example.com/agent.wav"]], true, references),
            ([names: ["agent"], references: ["data:audio/wav;base64,aGVsbG8sIG5vdCBhdWRpbw=="]], true, references),
            ([names: ["agent"], references: ["data:audio/wav;base64,!!!"]], true, references),
            ([names: ["agent"], references: [Self.dataURL(seconds: 1)]], true, references),
            ([names: ["agent"], references: [Self.dataURL(seconds: 12)]], true, references),
        ]
        for (fields, diarizing, field) in cases {
            await #expect {
                _ = try await KnownSpeakerReferences.read(Self.upload(fields), diarizing: diarizing)
            } throws: { error in
                (error as? APIError)?.param == field
            }
        }
    }

    @Test func diarizedJSONNamesKnownSpeakersAndLettersTheOthersInOrder() {
        var transcript = Transcript(
            text: "a b c", languageCode: "en", duration: 3,
            segments: [
                TranscriptSegment(id: 0, start: 0, end: 1, text: "a", speaker: "SPEAKER_00"),
                TranscriptSegment(id: 1, start: 1, end: 2, text: "b", speaker: "SPEAKER_01"),
                TranscriptSegment(id: 2, start: 2, end: 3, text: "c", speaker: "SPEAKER_02"),
            ],
            words: [])
        transcript.speakers = ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
        #expect(OpenAIDiarizedTranscription(transcript).segments.map(\.speaker) == ["A", "B", "C"])
        transcript.speakerNames = ["SPEAKER_01": "agent"]
        #expect(OpenAIDiarizedTranscription(transcript).segments.map(\.speaker) == ["A", "agent", "B"])
        #expect(OpenAIDiarizedTranscription.letter(25) == "Z" && OpenAIDiarizedTranscription.letter(26) == "AA")
        #expect(SubtitleFormatter().srt(transcript).contains("<v agent>b"), "exports use the name")
        #expect(transcript.label(of: "SPEAKER_02") == "Speaker 3")
    }
}
