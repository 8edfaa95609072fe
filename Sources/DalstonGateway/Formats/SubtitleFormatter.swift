import DalstonPipeline
import Foundation

/// Subtitles from a transcript: cues of at most `maximumLines` lines of `maximumLineLength`
/// characters, broken at word boundaries and at the transcript's segments (pauses), timed by
/// the words (or, without word times, shared out over the segment by length).
struct SubtitleFormatter {
    var maximumLineLength = 42
    var maximumLines = 2
    /// Names the speaker of each cue (`<v Speaker 1>`) when the transcript has speakers.
    var includeSpeakers = true

    struct Cue: Equatable {
        var start: Double
        var end: Double
        var lines: [String]
        var speaker: String?
    }

    func cues(_ transcript: Transcript) -> [Cue] {
        var cues: [Cue] = []
        for segment in transcript.segments {
            let words = transcript.words(in: segment)
            let timed: [TranscriptWord] = words.isEmpty ? Self.spread(segment) : words
            var current: [TranscriptWord] = []
            for word in timed {
                if !current.isEmpty && lines(of: current + [word]).count > maximumLines {
                    cues.append(cue(current, speaker: segment.speaker.map(transcript.label(of:))))
                    current = []
                }
                current.append(word)
            }
            if !current.isEmpty { cues.append(cue(current, speaker: segment.speaker.map(transcript.label(of:)))) }
        }
        return cues
    }

    func srt(_ transcript: Transcript) -> String {
        cues(transcript).enumerated().map { index, cue in
            "\(index + 1)\n\(Self.time(cue.start, separator: ",")) --> \(Self.time(cue.end, separator: ","))\n\(text(of: cue))\n"
        }.joined(separator: "\n")
    }

    func vtt(_ transcript: Transcript) -> String {
        "WEBVTT\n\n" + cues(transcript).map { cue in
            "\(Self.time(cue.start, separator: ".")) --> \(Self.time(cue.end, separator: "."))\n\(text(of: cue))\n"
        }.joined(separator: "\n")
    }

    private func cue(_ words: [TranscriptWord], speaker: String?) -> Cue {
        Cue(
            start: words.first?.start ?? 0, end: max(words.last?.end ?? 0, (words.first?.start ?? 0) + 0.001), lines: lines(of: words),
            speaker: includeSpeakers ? speaker : nil)
    }

    /// The cue's lines, the first opened with WebVTT's voice tag when its speaker is known.
    private func text(of cue: Cue) -> String {
        guard let speaker = cue.speaker else { return cue.lines.joined(separator: "\n") }
        return "<v \(Self.voiceName(speaker))>" + cue.lines.joined(separator: "\n")
    }

    /// A speaker's label as a voice tag may hold it (no `>` or line break); `SPEAKER_0N` is `Speaker N+1`.
    static func voiceName(_ speaker: String) -> String {
        String(SpeakerLabel.displayName(speaker).filter { $0 != ">" && $0 != "<" && !$0.isNewline }.prefix(64))
    }

    /// Plain text; with speakers, one paragraph per turn: `Speaker 1: …`.
    func plainText(_ transcript: Transcript) -> String {
        guard includeSpeakers, transcript.speakers != nil, transcript.segments.contains(where: { $0.speaker != nil }) else {
            return transcript.text + "\n"
        }
        var paragraphs: [(speaker: String?, text: String)] = []
        for segment in transcript.segments where !segment.text.isEmpty {
            if let last = paragraphs.last, last.speaker == segment.speaker {
                paragraphs[paragraphs.count - 1].text += " " + segment.text
            } else {
                paragraphs.append((segment.speaker, segment.text))
            }
        }
        return paragraphs.map { ($0.speaker.map { Self.voiceName(transcript.label(of: $0)) + ": " } ?? "") + $0.text }.joined(separator: "\n\n") + "\n"
    }

    /// Words wrapped into lines of at most `maximumLineLength` (a longer word gets a line of its own).
    private func lines(of words: [TranscriptWord]) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in words.map(\.text) {
            if line.isEmpty {
                line = word
            } else if line.count + 1 + word.count <= maximumLineLength {
                line += " " + word
            } else {
                lines.append(line)
                line = word
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// A segment's words timed by their share of its characters.
    private static func spread(_ segment: TranscriptSegment) -> [TranscriptWord] {
        let texts = segment.text.split(separator: " ").map(String.init)
        let total = max(1, texts.reduce(0) { $0 + $1.count + 1 })
        var start = segment.start
        return texts.map { text in
            let length = (segment.end - segment.start) * Double(text.count + 1) / Double(total)
            defer { start += length }
            return TranscriptWord(text: text, start: start, end: start + length)
        }
    }

    /// `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (WebVTT).
    static func time(_ seconds: Double, separator: String) -> String {
        let milliseconds = Int((max(0, seconds) * 1000).rounded())
        return String(format: "%02d:%02d:%02d%@%03d", milliseconds / 3_600_000, milliseconds / 60_000 % 60, milliseconds / 1000 % 60, separator, milliseconds % 1000)
    }
}
