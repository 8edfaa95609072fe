package import DalstonBroker
package import DalstonEngineSDK
package import DalstonPipeline
import Foundation

/// Assembles the final transcript (`result.json`): text, segments and words from the recogniser,
/// with the audio's duration and language.
package struct MergeEngine: Engine {
    package let engineID = EngineKind.merge
    /// A pause this long between words starts a new segment.
    package var segmentPause = 0.8

    package init() {}

    package func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        let recognised = try task.input.output(ofStage: "transcribe")
        let prepared = try task.input.output(ofStage: "prepare")
        let wordsBytes = try context.read(try recognised.requiredArtifact("words"))
        let words: [TranscriptWord]
        do {
            words = try JSONDecoder().decode([TranscriptWord].self, from: Data(wordsBytes))
        } catch {
            throw PermanentEngineError("the recogniser's word list is unreadable: \(error)")
        }
        let (transcript, reference) = try await context.step("assemble") {
            let transcript = Transcript(
                text: words.map(\.text).joined(separator: " "),
                languageCode: task.input["language"]?.stringValue ?? "en",
                duration: prepared["duration_seconds"]?.numberValue ?? (words.last?.end ?? 0),
                segments: Self.segments(of: words, pause: segmentPause),
                words: words)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return (transcript, try context.write(Array(try encoder.encode(transcript)), name: "result.json"))
        }
        context.logger.info("transcript_merged", metadata: [
            "word_count": .stringConvertible(words.count), "segment_count": .stringConvertible(transcript.segments.count),
        ])
        return ["result": .string(reference.key), "word_count": .number(Double(words.count))]
    }

    /// Splits words into segments at pauses of at least `pause` seconds.
    package static func segments(of words: [TranscriptWord], pause: Double) -> [TranscriptSegment] {
        var segments: [TranscriptSegment] = []
        var current: [TranscriptWord] = []
        func close() {
            guard let first = current.first, let last = current.last else { return }
            segments.append(TranscriptSegment(id: segments.count, start: first.start, end: last.end, text: current.map(\.text).joined(separator: " ")))
            current.removeAll()
        }
        for word in words {
            if let previous = current.last, word.start - previous.end >= pause { close() }
            current.append(word)
        }
        close()
        return segments
    }
}
