package import DalstonPipeline

/// Lays the diarizer's turns over the recogniser's words and segments: each word takes the
/// speaker whose turns overlap it most (the nearest turn when none does: a word in a pause the
/// VAD left out); a segment whose words change speaker is split at each change, so that no
/// segment has two speakers.
package enum SpeakerAttribution {
    package static func attribute(
        words: [TranscriptWord], segments: [TranscriptSegment], turns: [SpeakerTurn]
    ) -> (words: [TranscriptWord], segments: [TranscriptSegment]) {
        guard !turns.isEmpty else { return (words, segments) }
        let spoken = words.map { word in
            var word = word
            word.speaker = speaker(from: word.start, to: word.end, turns: turns)
            return word
        }
        var split: [TranscriptSegment] = []
        for segment in segments {
            let inside = Transcript.words(spoken, in: segment)
            var runs: [[TranscriptWord]] = []
            for word in inside {
                if let last = runs.last?.last, last.speaker == word.speaker {
                    runs[runs.count - 1].append(word)
                } else {
                    runs.append([word])
                }
            }
            guard runs.count > 1 else {
                // One speaker throughout (or no words): the recogniser's segment, its text as it was.
                var whole = segment
                whole.speaker = runs.first?.first?.speaker ?? speaker(from: segment.start, to: segment.end, turns: turns)
                split.append(whole)
                continue
            }
            for (index, run) in runs.enumerated() {
                guard let head = run.first, let tail = run.last else { continue }
                var piece = segment
                piece.start = index == 0 ? segment.start : head.start
                piece.end = index == runs.count - 1 ? segment.end : tail.end
                piece.text = run.map(\.text).joined(separator: " ")
                piece.speaker = head.speaker
                split.append(piece)
            }
        }
        for index in split.indices { split[index].id = index }
        return (spoken, split)
    }

    /// The speaker whose turns overlap `start…end` most; the nearest turn's when none does.
    package static func speaker(from start: Double, to end: Double, turns: [SpeakerTurn]) -> String? {
        var overlap: [String: Double] = [:]
        for turn in turns {
            let shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0 { overlap[turn.speaker, default: 0] += shared }
        }
        if let best = overlap.max(by: { ($0.value, $1.key) < ($1.value, $0.key) }) { return best.key }
        let middle = (start + end) / 2
        return turns.min { distance(middle, $0) < distance(middle, $1) }?.speaker
    }

    private static func distance(_ time: Double, _ turn: SpeakerTurn) -> Double {
        time < turn.start ? turn.start - time : (time > turn.end ? time - turn.end : 0)
    }
}
