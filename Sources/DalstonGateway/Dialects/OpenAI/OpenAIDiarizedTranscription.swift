import DalstonPipeline

/// OpenAI's `TranscriptionDiarized` (`response_format=diarized_json` with
/// `gpt-4o-transcribe-diarize`): `{task, duration, text, segments: [{type:
/// "transcript.text.segment", id, start, end, text, speaker}], usage}`, speakers named with capital
/// letters in order of appearance (`A`, `B`, …), as OpenAI names speakers it was not told about.
struct OpenAIDiarizedTranscription: Encodable {
    struct Segment: Encodable {
        let type = "transcript.text.segment"
        let id: String
        let start: Double
        let end: Double
        let text: String
        let speaker: String
    }

    struct Usage: Encodable {
        let type = "duration"
        let seconds: Double
    }

    let task = "transcribe"
    let duration: Double
    let text: String
    let segments: [Segment]
    let usage: Usage

    init(_ transcript: Transcript) {
        duration = transcript.duration
        text = transcript.text
        segments = transcript.segments.filter { !$0.text.isEmpty }.map { segment in
            Segment(
                id: "seg_\(segment.id)", start: segment.start, end: segment.end, text: segment.text,
                speaker: segment.speaker.map(Self.letter) ?? "A")
        }
        usage = Usage(seconds: transcript.duration)
    }

    /// `A` for `SPEAKER_00`, `Z` for the 26th, then `AA`, `AB`, ….
    static func letter(_ speaker: String) -> String {
        guard var index = SpeakerLabel.index(of: speaker) else { return speaker }
        var name = ""
        repeat {
            name = String(UnicodeScalar(UInt8(65 + index % 26))) + name
            index = index / 26 - 1
        } while index >= 0
        return name
    }
}
