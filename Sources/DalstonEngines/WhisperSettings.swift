package import DalstonCore
package import DalstonEngineSDK
package import DalstonModels
import Foundation

/// How the faster-whisper engine runs its models, from the environment.
package struct WhisperSettings: Sendable {
    /// The Python with Dalston's runners package (see `RunnerCommand.python`).
    package var python: String?
    /// `DALSTON_WHISPER_DEVICE`: `cpu` (default) or `cuda`.
    package var device = "cpu"
    /// `DALSTON_WHISPER_COMPUTE_TYPE`: CTranslate2's precision, `int8` by default (CPU).
    package var computeType = "int8"
    /// `DALSTON_WHISPER_WORKERS`: tasks run at once by one engine process, each worker with a
    /// runner of its own. Default: one per core, at most 4. Whisper's decoding uses a few threads
    /// poorly, so on 2 cores two single-threaded runners transcribe 1.8 times as much as one with
    /// two threads (measured: 0.73 s vs 0.66 s per 11 s clip), at a tenth more latency alone.
    /// Each worker holds its own copy of its models: with large models, fewer workers.
    package var workers = min(4, ProcessInfo.processInfo.activeProcessorCount)
    /// `DALSTON_WHISPER_THREADS`: CPU threads per runner (default: the cores shared among the workers).
    package var threads = 1
    /// `DALSTON_WHISPER_BEAM_SIZE`: 5, as Whisper's own transcribe uses.
    package var beamSize = 5
    /// `DALSTON_WHISPER_VAD`: `auto` (Silero VAD on files over 30 s), `on` or `off`.
    package var vad = "auto"
    /// `DALSTON_WHISPER_MAX_LOADED`: models kept loaded at once, one runner process each.
    package var maxLoaded = 2
    /// `DALSTON_WHISPER_PRELOAD`: load the default Whisper model as each worker starts (default
    /// true), rather than when its first task comes.
    package var preload = true
    /// `DALSTON_RUNNER_START_TIMEOUT`: how long a model may take to load.
    package var startTimeout: Duration = .seconds(300)

    package init() {}

    package static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> WhisperSettings {
        var settings = WhisperSettings()
        settings.python = RunnerCommand.python(in: environment)
        settings.device = environment["DALSTON_WHISPER_DEVICE"].flatMap { $0.isEmpty ? nil : $0 } ?? settings.device
        settings.computeType = environment["DALSTON_WHISPER_COMPUTE_TYPE"].flatMap { $0.isEmpty ? nil : $0 } ?? settings.computeType
        settings.workers = try EnvironmentValue("DALSTON_WHISPER_WORKERS", in: environment).integer(in: 1...64, default: settings.workers)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        settings.threads = try EnvironmentValue("DALSTON_WHISPER_THREADS", in: environment)
            .integer(in: 1...256, default: max(1, cores / settings.workers))
        settings.beamSize = try EnvironmentValue("DALSTON_WHISPER_BEAM_SIZE", in: environment).integer(in: 1...20, default: settings.beamSize)
        settings.maxLoaded = try EnvironmentValue("DALSTON_WHISPER_MAX_LOADED", in: environment).integer(in: 1...16, default: settings.maxLoaded)
        settings.preload = try EnvironmentValue("DALSTON_WHISPER_PRELOAD", in: environment).bool(default: settings.preload)
        settings.startTimeout = try EnvironmentValue("DALSTON_RUNNER_START_TIMEOUT", in: environment).seconds(in: 1...3600, default: settings.startTimeout)
        if let vad = environment["DALSTON_WHISPER_VAD"], !vad.isEmpty {
            guard ["auto", "on", "off"].contains(vad) else {
                throw ConfigurationError(description: "DALSTON_WHISPER_VAD must be auto, on or off, not \(vad)")
            }
            settings.vad = vad
        }
        return settings
    }

    /// How a runner of each installed Whisper model is started (the batch engine's and the
    /// realtime worker's alike).
    package func runnerCommands(models: ModelRegistry, environment: [String: String]) -> RunnerPool.CommandFactory {
        let python = python ?? "python3"
        // The runner's own output must never be buffered: its replies are read line by line.
        let runnerEnvironment = RunnerCommand.environment(from: environment).merging(["PYTHONUNBUFFERED": "1"]) { _, new in new }
        return { [self] modelID throws(RunnerError) in
            guard let model = models.model(modelID), let path = model.path else {
                throw .failedToStart("model \(modelID) is not installed here; install it with `dalston models pull \(modelID)`")
            }
            return RunnerCommand(
                executable: python,
                arguments: [
                    "-m", "dalston_runners", "serve", "--runner", "faster-whisper", "--model", path, "--model-id", modelID,
                    "--device", device, "--compute-type", computeType, "--threads", String(threads), "--beam-size", String(beamSize),
                ],
                environment: runnerEnvironment, startTimeout: startTimeout)
        }
    }

    package static let pythonMissing =
        "no Python with Dalston's runners package: run scripts/setup.sh run (it makes .venv), or set DALSTON_PYTHON"

    /// Why this process cannot run the engine (nil when it can), for the engine registry.
    package static var availability: String? {
        RunnerCommand.python(in: ProcessInfo.processInfo.environment) == nil ? pythonMissing : nil
    }

    /// Why this machine cannot run the engine (nil when it can).
    package var unavailableReason: String? {
        python == nil ? Self.pythonMissing : nil
    }
}
