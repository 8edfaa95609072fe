import DalstonCore
import DalstonEngineSDK
import DalstonEngines
import DalstonGateway
import DalstonModels
import DalstonRealtime
import DalstonRealtimeWorker
import Foundation

extension Deployment {
    /// What a realtime worker streams: every installed Whisper model (where this machine has the
    /// runners' Python) and PocketSphinx (where it is compiled in). The default is the model batch
    /// jobs default to (`DALSTON_DEFAULT_MODEL`, else Whisper tiny.en, ...), so a session that
    /// names no model hears as well as a job does. Whisper's sessions share one runner process
    /// per model, started before the worker announces itself. Models installed later are
    /// streamed after a restart.
    func liveModels() throws(ConfigurationError) -> LiveModels {
        if let makeStreamingRecognizer {
            return .single(ModelCatalogue.pocketSphinx.id) { [environment] in try makeStreamingRecognizer(environment) }
        }
        let settings = try WhisperSettings.fromEnvironment(environment)
        let whisper = settings.unavailableReason == nil ? models.models.filter { $0.runner == ModelInfo.fasterWhisper }.map(\.id) : []
        let pocketSphinx = TranscribeEngine.isAvailable ? [ModelCatalogue.pocketSphinx.id] : []
        let served = whisper + pocketSphinx
        guard !served.isEmpty else {
            throw ConfigurationError(
                description: "the realtime worker has no model to stream: install Whisper (scripts/setup.sh run) or PocketSphinx (\(TranscribeEngine.unavailableReason))")
        }
        let preferred = models.defaultModel(language: nil)?.id
        let defaultModel = preferred.flatMap { served.contains($0) ? $0 : nil } ?? served[0]
        var live = settings
        // A live decoding is waited for: it gets every core (sessions take turns on the runner).
        live.threads = try EnvironmentValue("DALSTON_REALTIME_WHISPER_THREADS", in: environment)
            .integer(in: 1...256, default: ProcessInfo.processInfo.activeProcessorCount)
        let runner = WhisperLiveRunner(
            settings: live,
            pool: RunnerPool(
                runnerName: "faster-whisper", capacity: live.maxLoaded, logger: makeLogger("dalston.realtime.runner"),
                makeCommand: live.runnerCommands(models: models, environment: environment)),
            metrics: metrics.instruments(for: "realtime"), logger: makeLogger("dalston.realtime"))
        return LiveModels(
            models: served, defaultModel: defaultModel,
            prepare: { if whisper.contains(defaultModel) { try await runner.load(defaultModel) } },
            shutdown: { await runner.shutdown() },
            make: { [environment] model in
                if whisper.contains(model) {
                    return WhisperStreamingRecognizer(decoder: WhisperLiveDecoder(runner: runner, model: model), options: WhisperStreamingOptions())
                }
                return try TranscribeEngine.makeStreamingRecognizer(environment: environment)
            })
    }
}
