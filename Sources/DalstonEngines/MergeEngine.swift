package import DalstonBroker
package import DalstonEngineSDK
package import DalstonPipeline
import Foundation

/// Assembles the final transcript (`result.json`): text, segments and words from the recogniser,
/// with the audio's duration and language, and, when the job was diarized, a speaker on every
/// word and segment (segments split where the speaker changes).
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
        // A recogniser that segments (Whisper) hands its own segments over; otherwise they are
        // cut at pauses between words.
        var recognisedSegments: [TranscriptSegment]?
        if recognised["segments"] != nil {
            do {
                recognisedSegments = try JSONDecoder().decode([TranscriptSegment].self, from: Data(try context.read(try recognised.requiredArtifact("segments"))))
            } catch let error as PermanentEngineError {
                throw error
            } catch {
                throw PermanentEngineError("the recogniser's segment list is unreadable: \(error)")
            }
        }
        let requestedLanguage = task.input["language"]?.stringValue.flatMap { $0.isEmpty || $0 == "auto" ? nil : $0 }
        var speakers: (names: [String], turns: [SpeakerTurn])?
        if case .object(let diarized)? = task.input[PipelineStages.diarize] {
            do {
                let turns = try JSONDecoder().decode([SpeakerTurn].self, from: Data(try context.read(try diarized.requiredArtifact("turns"))))
                var names: [String] = []
                if case .array(let listed)? = diarized["speakers"] { names = listed.compactMap(\.stringValue) }
                speakers = (names, turns)
            } catch let error as PermanentEngineError {
                throw error
            } catch {
                throw PermanentEngineError("the diarizer's turns are unreadable: \(error)")
            }
        }
        let (transcript, reference) = try await context.step("assemble") {
            var words = words
            var segments = recognisedSegments ?? Self.segments(of: words, pause: segmentPause)
            if let speakers {
                (words, segments) = SpeakerAttribution.attribute(words: words, segments: segments, turns: speakers.turns)
            }
            var transcript = Transcript(
                text: recognisedSegments.map { $0.map(\.text).filter { !$0.isEmpty }.joined(separator: " ") } ?? words.map(\.text).joined(separator: " "),
                languageCode: recognised["language"]?.stringValue ?? requestedLanguage ?? "en",
                duration: prepared["duration_seconds"]?.numberValue ?? (words.last?.end ?? 0),
                segments: segments,
                words: words,
                languageProbability: requestedLanguage == nil ? recognised["language_probability"]?.numberValue : nil,
                task: recognised["task"]?.stringValue)
            transcript.speakers = speakers?.names
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
