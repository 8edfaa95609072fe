import DalstonPipeline

/// OpenAI's `TranscriptionDiarized` (`response_format=diarized_json` with
/// `gpt-4o-transcribe-diarize`): `{task, duration, text, segments: [{type:
/// "transcript.text.segment", id, start, end, text, speaker}], usage}`: speakers matched to
/// `known_speaker_names[]` by name, the others with capital letters in order of appearance (`A`,
/// `B`, …), as OpenAI names speakers it was not told about.
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
        let names = Self.names(transcript)
        segments = transcript.segments.filter { !$0.text.isEmpty }.map { segment in
            Segment(
                id: "seg_\(segment.id)", start: segment.start, end: segment.end, text: segment.text,
                speaker: segment.speaker.map { names[$0] ?? $0 } ?? "A")
        }
        usage = Usage(seconds: transcript.duration)
    }

    /// Each speaker's name: a known speaker's own, the others letters in order of appearance.
    static func names(_ transcript: Transcript) -> [String: String] {
        var names: [String: String] = [:]
        var unknown = 0
        for speaker in transcript.speakers ?? [] {
            if let known = transcript.speakerNames?[speaker] {
                names[speaker] = known
            } else {
                names[speaker] = letter(unknown)
                unknown += 1
            }
        }
        return names
    }

    /// `A` for 0, `Z` for 25, then `AA`, `AB`, ….
    static func letter(_ index: Int) -> String {
        var index = index
        var name = ""
        repeat {
            name = String(UnicodeScalar(UInt8(65 + index % 26))) + name
            index = index / 26 - 1
        } while index >= 0
        return name
    }
}
