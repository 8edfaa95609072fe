package import DalstonEngineSDK
import DalstonPipeline

extension EngineRegistry {
    /// The batch pipeline's engines. A new engine: its file in this folder, one line here.
    package static let builtIn = EngineRegistry([
        Registration(EngineKind.audioPrepare) { try AudioPrepareEngine.make(environment: $0) },
        Registration(EngineKind.transcribe, unavailableReason: TranscribeEngine.isAvailable ? nil : TranscribeEngine.unavailableReason) {
            try TranscribeEngine.make(environment: $0)
        },
        Registration(EngineKind.merge) { _ in MergeEngine() },
    ])
}
