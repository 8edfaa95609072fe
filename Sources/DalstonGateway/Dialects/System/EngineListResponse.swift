import DalstonModels
import DalstonPipeline
import Hummingbird

/// `GET /v1/engines`: every engine the deployment knows, whether a worker runs it, and the
/// installed models it runs, in the original Dalston's shape (`{engines: [...], total}`, as its
/// SDK's `list_engines()` reads it).
struct EngineListResponse: ResponseEncodable {
    struct Engine: Encodable {
        struct Capabilities: Encodable {
            /// nil: any language (an engine that does not transcribe).
            let languages: [String]?
            let supportsWordTimestamps: Bool
            var supportsNativeStreaming = false

            enum CodingKeys: String, CodingKey {
                case languages
                case supportsWordTimestamps = "supports_word_timestamps"
                case supportsNativeStreaming = "supports_native_streaming"
            }
        }

        let id: String
        let name: String
        let stage: String
        let version: String
        /// `running` (a worker has a recent heartbeat) or `available` (none runs now).
        let status: String
        let workers: Int
        let queued: Int
        let availableModels: [String]
        let capabilities: Capabilities

        enum CodingKeys: String, CodingKey {
            case id, name, stage, version, status, workers, queued, capabilities
            case availableModels = "available_models"
        }
    }

    let engines: [Engine]
    let total: Int

    /// The engines' names and stages; an engine not listed here is shown under its id.
    private static let descriptions: [String: (name: String, stage: String)] = [
        EngineKind.audioPrepare: ("Audio preparation (16 kHz mono)", PipelineStages.prepare),
        EngineKind.transcribe: ("PocketSphinx", PipelineStages.transcribe),
        EngineKind.whisper: ("faster-whisper (CTranslate2)", PipelineStages.transcribe),
        EngineKind.merge: ("Transcript merge", PipelineStages.merge),
    ]

    init(engineIDs: [String], workers: [String: Int], queued: [String: Int], models: [ModelInfo], version: String) {
        engines = engineIDs.sorted().map { id in
            let served = models.filter { $0.engine == id }
            let description = Self.descriptions[id]
            return Engine(
                id: id, name: description?.name ?? id, stage: description?.stage ?? "unknown", version: version,
                status: (workers[id] ?? 0) > 0 ? "running" : "available", workers: workers[id] ?? 0, queued: queued[id] ?? 0,
                availableModels: served.map(\.id),
                capabilities: .init(
                    languages: served.isEmpty ? nil : Array(Set(served.flatMap(\.languages))).sorted(),
                    supportsWordTimestamps: served.contains { $0.wordTimestamps }))
        }
        total = engines.count
    }
}
