import ArgumentParser
import DalstonEngines
import DalstonEngineSDK
import DalstonRuntime
import Foundation

/// `dalston up`: the whole system in one process.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run the gateway, the orchestrator and every engine in one process.",
        discussion: "Uses the embedded in-memory broker unless REDIS_URL is set. Stop with Ctrl-C (graceful).")

    func run() async throws {
        let startup = Startup.configure(service: "dalston")
        let deployment = startup.deployment
        for registration in deployment.engines.registrations {
            if let reason = registration.unavailableReason {
                startup.logger.warning("engine_unavailable", metadata: ["engine_id": "\(registration.engineID)", "reason": "\(reason)"])
            }
        }
        let engines = deployment.engines.availableEngineIDs
        startup.logger.notice("dalston_starting", metadata: [
            "url": "http://\(deployment.environment["DALSTON_HOST"] ?? "127.0.0.1"):\(deployment.environment["DALSTON_PORT"] ?? "8000")",
            "broker": "\(deployment.brokerKind)", "data_dir": "\(deployment.artifacts.location)", "engines": "\(engines.joined(separator: ","))",
            "default_model": "\(deployment.models.defaultModel(language: nil)?.id ?? "none")",
            "models": "\(deployment.models.models.map(\.id).joined(separator: ","))",
        ])
        // Live sessions need the recogniser; without it the gateway answers them with no_capacity.
        let realtime: [Role] = TranscribeEngine.isAvailable ? [.realtimeWorker] : []
        try await startup.run([.gateway, .orchestrator] + engines.map { .engine($0) } + realtime)
    }
}

struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway", abstract: "Run the HTTP gateway (against REDIS_URL).")

    func run() async throws {
        try await Startup.configure(service: "gateway").run([.gateway])
    }
}

struct OrchestratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orchestrator", abstract: "Run an orchestrator (against REDIS_URL); any number may run side by side.")

    func run() async throws {
        try await Startup.configure(service: "orchestrator").run([.orchestrator])
    }
}

struct EngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine", abstract: "Run one engine worker (against REDIS_URL).",
        discussion: "Engines: \(EngineRegistry.builtIn.engineIDs.joined(separator: ", ")).")

    @Argument(help: "The engine to run.")
    var name: String

    func run() async throws {
        try await Startup.configure(service: "engine").run([.engine(name)])
    }
}

struct RealtimeWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realtime-worker", abstract: "Run a realtime worker: live transcription sessions for the gateways (against REDIS_URL).",
        discussion: "DALSTON_REALTIME_MAX_SESSIONS sessions at once (default 2); DALSTON_REALTIME_PORT (default: a free port, announced to the router).")

    func run() async throws {
        try await Startup.configure(service: "realtime-worker").run([.realtimeWorker])
    }
}
