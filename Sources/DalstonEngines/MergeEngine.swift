package import DalstonBroker
package import DalstonEngineSDK
package import DalstonPipeline
import Foundation

/// Assembles the final transcript (`result.json`): text, segments and words from the recogniser,
/// with the audio's duration and language, and, when the job was diarized, a speaker on every
/// word and segment (segments split where the speaker changes); for a per-channel job, every
/// channel's transcription in one time order, each channel its speaker.
package struct MergeEngine: Engine {
    package let engineID = EngineKind.merge
    /// A pause this long between words starts a new segment.
    package var segmentPause = 0.8

    package init() {}

    package func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        let prepared = try task.input.output(ofStage: PipelineStages.prepare)
        let duration = prepared["duration_seconds"]?.numberValue
        let requestedLanguage = task.input["language"]?.stringValue.flatMap { $0.isEmpty || $0 == "auto" ? nil : $0 }
        if let channels = task.input[PipelineStages.channelsParameter]?.numberValue.map({ Int($0) }) {
            return try await mergeChannels(channels, task: task, duration: duration, requestedLanguage: requestedLanguage, context: context)
        }
        let recognised = try await Recognised(try task.input.output(ofStage: PipelineStages.transcribe), context: context)
        var speakers: (names: [String], turns: [SpeakerTurn], known: [String: String])?
        if case .object(let diarized)? = task.input[PipelineStages.diarize] {
            let turns = try await Self.decode([SpeakerTurn].self, artifact: "turns", of: diarized, what: "the diarizer's turns", context: context)
            var names: [String] = []
            if case .array(let listed)? = diarized["speakers"] { names = listed.compactMap(\.stringValue) }
            var known: [String: String] = [:]
            if case .object(let matched)? = diarized["names"] { known = matched.compactMapValues(\.stringValue) }
            speakers = (names, turns, known)
        }
        let transcript = try await context.step("assemble") {
            var words = recognised.words
            var segments = recognised.segments ?? Self.segments(of: words, pause: segmentPause)
            if let speakers {
                (words, segments) = SpeakerAttribution.attribute(words: words, segments: segments, turns: speakers.turns)
            }
            var transcript = Transcript(
                text: recognised.text, languageCode: recognised.language ?? requestedLanguage ?? "en",
                duration: duration ?? (words.last?.end ?? 0), segments: segments, words: words,
                languageProbability: requestedLanguage == nil ? recognised.languageProbability : nil, task: recognised.task)
            transcript.speakers = speakers?.names
            if let known = speakers?.known, !known.isEmpty { transcript.speakerNames = known }
            return transcript
        }
        return try await write(transcript, context: context)
    }

    /// A per-channel job's transcript: each channel's words and segments with the channel's
    /// speaker (`SPEAKER_00` for channel 0), in one time order; each channel keeps its language.
    private func mergeChannels(
        _ channels: Int, task: TaskEnvelope, duration: Double?, requestedLanguage: String?, context: EngineContext
    ) async throws -> [String: JSONValue] {
        var heard: [Recognised] = []
        for channel in 0..<channels {
            heard.append(try await Recognised(try task.input.output(ofStage: PipelineStages.transcribe(channel: channel)), context: context))
        }
        let transcript = try await context.step("assemble") {
            var words: [TranscriptWord] = []
            var segments: [TranscriptSegment] = []
            var described: [TranscriptChannel] = []
            for (channel, recognised) in heard.enumerated() {
                let speaker = SpeakerLabel.name(channel)
                words += recognised.words.map { word in
                    var word = word
                    (word.speaker, word.channel) = (speaker, channel)
                    return word
                }
                segments += (recognised.segments ?? Self.segments(of: recognised.words, pause: segmentPause)).map { segment in
                    var segment = segment
                    (segment.speaker, segment.channel) = (speaker, channel)
                    return segment
                }
                described.append(TranscriptChannel(
                    channel: channel, languageCode: recognised.language ?? requestedLanguage ?? "en",
                    languageProbability: requestedLanguage == nil ? recognised.languageProbability : nil))
            }
            // Ties keep channel order, so the result is the same on every run.
            words = words.enumerated().sorted { ($0.element.start, $0.offset) < ($1.element.start, $1.offset) }.map(\.element)
            segments = segments.enumerated().sorted { ($0.element.start, $0.offset) < ($1.element.start, $1.offset) }.map(\.element)
            for index in segments.indices { segments[index].id = index }
            // The language most of the speech is in speaks for the whole (channel order breaks ties).
            let spoken = Dictionary(grouping: described) { $0.languageCode }.mapValues { channels in
                channels.reduce(0.0) { total, channel in total + heard[channel.channel].words.reduce(0) { $0 + ($1.end - $1.start) } }
            }
            let main = described.max { (spoken[$0.languageCode] ?? 0, -$0.channel) < (spoken[$1.languageCode] ?? 0, -$1.channel) }
            var transcript = Transcript(
                text: Transcript.text(of: segments), languageCode: main?.languageCode ?? requestedLanguage ?? "en",
                duration: duration ?? (words.last?.end ?? 0), segments: segments, words: words,
                languageProbability: main?.languageProbability, task: heard.first?.task)
            transcript.speakers = described.map(\.speaker)
            transcript.channels = described
            return transcript
        }
        return try await write(transcript, context: context)
    }

    /// Stores the transcript as `result.json`.
    private func write(_ transcript: Transcript, context: EngineContext) async throws -> [String: JSONValue] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let reference = try await context.write(Array(try encoder.encode(transcript)), name: "result.json")
        context.logger.info("transcript_merged", metadata: [
            "word_count": .stringConvertible(transcript.words.count), "segment_count": .stringConvertible(transcript.segments.count),
            "channels": .stringConvertible(transcript.channels?.count ?? 1),
        ])
        return ["result": .string(reference.key), "word_count": .number(Double(transcript.words.count))]
    }

    /// An earlier stage's JSON artifact `artifact`; a missing or unreadable one fails the task
    /// permanently, naming `what` it is.
    static func decode<Value: Decodable>(
        _ type: Value.Type, artifact: String, of output: [String: JSONValue], what: String, context: EngineContext
    ) async throws -> Value {
        let bytes = try await context.read(try output.requiredArtifact(artifact))
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw PermanentEngineError("\(what) is unreadable: \(error)")
        }
    }

    /// What a recogniser handed over: its words, its own segments when it segments (Whisper),
    /// and the language it heard.
    struct Recognised {
        let words: [TranscriptWord]
        let segments: [TranscriptSegment]?
        let language: String?
        let languageProbability: Double?
        let task: String?

        init(_ output: [String: JSONValue], context: EngineContext) async throws {
            words = try await MergeEngine.decode([TranscriptWord].self, artifact: "words", of: output, what: "the recogniser's word list", context: context)
            segments = output["segments"] == nil
                ? nil : try await MergeEngine.decode([TranscriptSegment].self, artifact: "segments", of: output, what: "the recogniser's segment list", context: context)
            language = output["language"]?.stringValue
            languageProbability = output["language_probability"]?.numberValue
            task = output["task"]?.stringValue
        }

        /// The recogniser's segments' text, or its words' when it does not segment.
        var text: String {
            segments.map(Transcript.text(of:)) ?? words.map(\.text).joined(separator: " ")
        }
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
