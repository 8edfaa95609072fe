import ArgumentParser
import DalstonEngines
import DalstonOrchestrator
import DalstonPipeline
import Foundation
import Hummingbird
import ServiceLifecycle

/// `dalston up`: the whole system in one process.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run the gateway, the orchestrator and every engine in one process.",
        discussion: "Uses the embedded in-memory broker unless REDIS_URL is set. Stop with Ctrl-C (graceful).")

    func run() async throws {
        let runtime = Runtime.start(service: "dalston")
        let gateway = runtime.gateway()
        var engines = EngineKind.all
        if !TranscribeEngine.isAvailable {
            runtime.logger.warning("engine_unavailable", metadata: ["engine_id": "transcribe", "reason": "\(TranscribeEngine.unavailableReason)"])
            engines.removeAll { $0 == EngineKind.transcribe }
        }
        runtime.logger.notice("dalston_starting", metadata: [
            "url": "http://\(gateway.configuration.host):\(gateway.configuration.port)", "broker": "\(runtime.brokerKind)",
            "data_dir": "\(runtime.artifacts.root.path)", "engines": "\(engines.joined(separator: ","))",
        ])
        runtime.sampleBrokerMetrics()
        try await runtime.run([gateway.makeApplication(), runtime.orchestrator()] + runtime.engineServices(engines))
    }
}

struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway", abstract: "Run the HTTP gateway (against REDIS_URL).")

    func run() async throws {
        let runtime = Runtime.start(service: "gateway")
        try await runtime.run([runtime.gateway().makeApplication()])
    }
}

struct OrchestratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "orchestrator", abstract: "Run the orchestrator (against REDIS_URL).")

    func run() async throws {
        let runtime = Runtime.start(service: "orchestrator")
        runtime.sampleBrokerMetrics()
        try await runtime.run([runtime.orchestrator()] + runtime.metricsServer(defaultPort: 9400))
    }
}

struct EngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine", abstract: "Run one engine worker (against REDIS_URL).",
        discussion: "Engines: \(EngineKind.all.joined(separator: ", ")).")

    @Argument(help: "The engine to run.")
    var name: String

    func run() async throws {
        let runtime = Runtime.start(service: "engine")
        try await runtime.run(runtime.engineServices([name]) + runtime.metricsServer(defaultPort: 9401))
    }
}
