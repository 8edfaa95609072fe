package import DalstonEngineSDK
import DalstonModels
import DalstonPipeline
import Foundation
import Logging

extension EngineRegistry {
    /// The batch pipeline's engines. A new engine: its file in this folder, one line here.
    package static let builtIn = EngineRegistry([
        Registration(EngineKind.audioPrepare) { try AudioPrepareEngine.make(environment: $0) },
        Registration(EngineKind.transcribe, unavailableReason: TranscribeEngine.isAvailable ? nil : TranscribeEngine.unavailableReason) {
            try TranscribeEngine.make(environment: $0)
        },
        Registration(EngineKind.whisper, unavailableReason: WhisperSettings.availability) { environment in
            try WhisperEngine(
                models: ModelRegistry(directory: ModelRegistry.directory(in: environment)), settings: try WhisperSettings.fromEnvironment(environment),
                environment: environment, logger: Logger(label: "dalston.engine.\(EngineKind.whisper)"))
        },
        Registration(EngineKind.diarize, unavailableReason: WhisperSettings.availability) { environment in
            try DiarizeEngine(
                settings: try DiarizeSettings.fromEnvironment(environment), environment: environment, logger: Logger(label: "dalston.engine.\(EngineKind.diarize)"))
        },
        Registration(EngineKind.merge) { _ in MergeEngine() },
    ])
}
