import DalstonBroker
import DalstonEngineSDK
import DalstonEngines
import DalstonGateway
import DalstonLogging
import DalstonMetrics
import DalstonObservability
import DalstonOrchestrator
import DalstonPipeline
import Foundation
import Logging
import ServiceLifecycle

/// The orchestrator as a lifecycle service: stops on graceful shutdown.
struct OrchestratorService: Service {
    let orchestrator: Orchestrator

    func run() async throws {
        await cancelWhenGracefulShutdown { await orchestrator.run() }
    }
}

/// An engine runner as a lifecycle service: on graceful shutdown it finishes (or requeues) the
/// task in hand, then stops.
struct EngineService: Service {
    let runner: EngineRunner

    func run() async throws {
        await cancelWhenGracefulShutdown { await runner.run() }
    }
}

/// Closes the broker's connections after everything else has stopped.
struct BrokerShutdownService: Service {
    let broker: any Broker

    func run() async throws {
        try? await gracefulShutdown()
        await broker.shutdown()
    }
}

/// What every subcommand that runs services needs: configured logging and metrics, the broker,
/// artifacts.
struct Runtime {
    let logger: Logger
    let metrics: MetricsRuntime
    let metricsConfiguration: MetricsConfiguration
    /// The span exporter (nil when tracing is off).
    let tracing: (any Service)?
    let environment: [String: String]
    let broker: any Broker
    let brokerKind: String
    let artifacts: ArtifactStore

    static func start(service: String) -> Runtime {
        let environment = ProcessInfo.processInfo.environment
        let observability = Observability.configureOrExit(service: service, environment: environment)
        let broker: any Broker
        do {
            broker = try BrokerFactory.make(environment: environment)
        } catch {
            exitWithConfigurationError("\(error)")
        }
        let kind = broker is RedisBroker ? "redis" : "in-memory"
        return Runtime(
            logger: observability.logger, metrics: observability.metrics, metricsConfiguration: observability.metricsConfiguration,
            tracing: observability.tracingService, environment: environment, broker: broker, brokerKind: kind,
            artifacts: .fromEnvironment(environment))
    }

    /// Queue, worker and job gauges, sampled from the broker on scrape (orchestrator and `up`).
    func sampleBrokerMetrics() {
        metrics.exposition?.add(BrokerMetricsSampler(broker: broker, brokerKind: brokerKind, instruments: metrics.instruments(for: "orchestrator")))
    }

    /// `/metrics` on `METRICS_PORT` (or `defaultPort`) for a service without an HTTP API;
    /// nothing when metrics are off.
    func metricsServer(defaultPort: Int) -> [any Service] {
        guard let exposition = metrics.exposition else { return [] }
        let host = environment["DALSTON_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "0.0.0.0"
        return [MetricsServer.application(exposition, host: host, port: metricsConfiguration.port ?? defaultPort)]
    }

    func orchestrator() -> OrchestratorService {
        OrchestratorService(orchestrator: Orchestrator(broker: broker, metrics: metrics.instruments(for: "orchestrator")))
    }

    func gateway() -> Gateway {
        let configuration: GatewayConfiguration
        do {
            configuration = try GatewayConfiguration.fromEnvironment(environment)
        } catch {
            exitWithConfigurationError(error.description)
        }
        return Gateway(configuration: configuration, jobs: JobService(broker: broker, artifacts: artifacts), brokerKind: brokerKind, metrics: metrics)
    }

    func engineServices(_ names: [String]) -> [any Service] {
        names.map { name in
            let engine: any Engine
            do {
                engine = try Self.makeEngine(name, environment: environment)
            } catch {
                exitWithConfigurationError("engine \(name): \(error)")
            }
            return EngineService(runner: EngineRunner(engine: engine, broker: broker, artifacts: artifacts, metrics: metrics.instruments(for: "engine")))
        }
    }

    static func makeEngine(_ name: String, environment: [String: String]) throws -> any Engine {
        switch name {
        case EngineKind.audioPrepare: return AudioPrepareEngine()
        case EngineKind.transcribe: return try TranscribeEngine.make(environment: environment)
        case EngineKind.merge: return MergeEngine()
        default:
            throw UnknownEngine(description: "unknown engine \"\(name)\"; the engines are \(EngineKind.all.joined(separator: ", "))")
        }
    }

    struct UnknownEngine: Error, CustomStringConvertible {
        let description: String
    }

    func run(_ services: [any Service]) async throws {
        let group = ServiceGroup(configuration: .init(
            // Shut down in reverse order: the services first, then the broker's connections, then
            // the span exporter, which flushes what the others recorded.
            services: ((tracing.map { [$0] } ?? []) + [BrokerShutdownService(broker: broker)] + services)
                .map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "dalston.lifecycle")))
        try await group.run()
    }
}

func exitWithConfigurationError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("dalston: \(message)\n".utf8))
    exit(DalstonLogging.configurationErrorExitCode)
}
