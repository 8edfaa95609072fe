package import DalstonBroker
package import DalstonMetrics
package import DalstonEngineSDK
package import DalstonModels
import DalstonPipeline
import DalstonPropagation
import Foundation
package import Logging

/// Whisper-class recognition: each task goes to a faster-whisper runner process (Python,
/// CTranslate2) that holds the job's model loaded, by reference to the prepared audio file. The
/// runner's reply becomes `words.json` (the words with the model's own timings and
/// probabilities) and `segments.json` (Whisper's segments with their decoding figures), plus
/// the detected language.
package struct WhisperEngine: Engine {
    package let engineID = EngineKind.whisper
    private let models: ModelRegistry
    private let settings: WhisperSettings
    private let pool: RunnerPool
    /// Loaded as the worker starts (the deployment's default Whisper model), so that the first
    /// request does not wait for it; nil: none (`DALSTON_WHISPER_PRELOAD=false`, or no Whisper
    /// model is the default).
    private let preloadedModel: String?

    package init(models: ModelRegistry, settings: WhisperSettings, environment: [String: String], logger: Logger) throws {
        if let reason = settings.unavailableReason { throw PermanentEngineError(reason) }
        self.models = models
        self.settings = settings
        let preferred = environment["DALSTON_DEFAULT_MODEL"].flatMap { models.model($0) } ?? models.defaultModel(language: nil)
        preloadedModel = settings.preload && preferred?.runner == ModelInfo.fasterWhisper ? preferred?.id : nil
        self.pool = RunnerPool(
            runnerName: "faster-whisper", capacity: settings.maxLoaded, logger: logger,
            makeCommand: settings.runnerCommands(models: models, environment: environment))
    }

    package func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        let audioReference = try task.input.preparedAudio()
        let modelID = task.input["model_id"]?.stringValue ?? ""
        guard let model = models.model(modelID), model.runner == ModelInfo.fasterWhisper else {
            throw PermanentEngineError("model \(modelID) is not installed on this engine; install it with `dalston models pull \(modelID)`")
        }
        let options = task.input["options"].flatMap { value -> [String: String]? in
            guard case .object(let object) = value else { return nil }
            return object.compactMapValues(\.stringValue)
        } ?? [:]
        let language = task.input["language"]?.stringValue.flatMap { $0.isEmpty || $0 == "auto" ? nil : $0 }
        let audioPath = try await context.localPath(audioReference)
        let reply = try await context.step("inference") {
            try await pool.call(
                WhisperRequest(
                    id: task.taskID, audio: audioPath, task: options["task"] ?? "transcribe", language: language,
                    initialPrompt: options["prompt"], hotwords: options["hotwords"], temperature: options["temperature"].flatMap(Double.init),
                    beamSize: settings.beamSize, vad: settings.vad, context: task.runnerContext),
                model: modelID, replying: WhisperReply.self, metrics: context.metrics)
        }
        context.metrics.recordRunnerInference(
            runner: "faster-whisper", model: modelID, seconds: reply.timings.inferenceSeconds, audioSeconds: reply.timings.audioSeconds)
        let words = reply.segments.flatMap { segment in
            segment.words.map { TranscriptWord(text: $0.word, start: $0.start, end: $0.end, confidence: $0.probability) }
        }
        // Numbered from 0 in this job's transcript (the runner counts from 1).
        let segments = reply.segments.enumerated().map { index, reply in
            var segment = reply.segment
            segment.id = index
            return segment
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let wordsReference = try await context.write(Array(try encoder.encode(words)), name: context.ownFileName("words.json"))
        let segmentsReference = try await context.write(Array(try encoder.encode(segments)), name: context.ownFileName("segments.json"))
        context.logger.info("speech_recognised", metadata: [
            "word_count": .stringConvertible(words.count), "segment_count": .stringConvertible(segments.count),
            "audio_seconds": .stringConvertible(reply.timings.audioSeconds), "inference_seconds": .stringConvertible(reply.timings.inferenceSeconds),
            "language": "\(reply.language)", "model_id": "\(modelID)",
        ])
        return [
            "words": .string(wordsReference.key), "segments": .string(segmentsReference.key), "word_count": .number(Double(words.count)),
            "language": .string(reply.language), "language_probability": .number(reply.languageProbability),
            "task": .string(options["task"] ?? "transcribe"), "model_id": .string(modelID),
        ]
    }

    package func prepare(metrics: Instruments) async {
        guard let preloadedModel else { return }
        // A failure is logged by the pool (runner_start_failed) and met again by the first task.
        _ = try? await pool.runner(for: preloadedModel, metrics: metrics)
    }

    package func shutdown() async {
        await pool.shutdown()
    }
}

/// The runner's `transcribe` request (docs/runners.md): a job's prepared file by path, or a live
/// session's samples inline (`pcm16`, with the `live` pass). Absent fields are not sent.
struct WhisperRequest: RunnerRequest {
    var type = "transcribe"
    let id: String
    var audio: String?
    var pcm16: String?
    var live: String?
    var task = "transcribe"
    let language: String?
    let initialPrompt: String?
    var hotwords: String?
    var temperature: Double?
    let beamSize: Int
    let vad: String
    var wordTimestamps = true
    var context: [String: String]

    enum CodingKeys: String, CodingKey {
        case type, id, audio, pcm16, live, task, language, hotwords, temperature, vad, context
        case initialPrompt = "initial_prompt"
        case beamSize = "beam_size"
        case wordTimestamps = "word_timestamps"
    }
}

/// The runner's `result` reply.
struct WhisperReply: Decodable {
    struct Word: Decodable {
        let word: String
        let start: Double
        let end: Double
        let probability: Double?
    }

    /// A Whisper segment: the transcript's segment fields (the same keys), and its words.
    struct Segment: Decodable {
        let segment: TranscriptSegment
        let words: [Word]

        init(from decoder: any Decoder) throws {
            segment = try TranscriptSegment(from: decoder)
            words = try decoder.container(keyedBy: CodingKeys.self).decode([Word].self, forKey: .words)
        }

        enum CodingKeys: String, CodingKey {
            case words
        }
    }

    struct Timings: Decodable {
        let inferenceSeconds: Double
        let audioSeconds: Double

        enum CodingKeys: String, CodingKey {
            case inferenceSeconds = "inference_seconds"
            case audioSeconds = "audio_seconds"
        }
    }

    let language: String
    let languageProbability: Double
    let segments: [Segment]
    let timings: Timings

    enum CodingKeys: String, CodingKey {
        case language, segments, timings
        case languageProbability = "language_probability"
    }
}
