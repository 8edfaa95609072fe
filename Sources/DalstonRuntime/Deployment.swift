package import DalstonBroker
package import DalstonCore
package import DalstonEngineSDK
import DalstonEngines
package import DalstonGateway
import DalstonLogging
package import DalstonMetrics
package import DalstonModels
package import DalstonObservability
package import DalstonOrchestrator
package import DalstonPipeline
package import DalstonRecords
package import DalstonRealtime
package import DalstonRealtimeWorker
package import DalstonSessionRouter
import DalstonStorage
package import DalstonWebhooks
import Foundation
package import Logging
package import ServiceLifecycle
import UnixSignals

/// What one process of Dalston runs.
package enum Role: Sendable, Equatable {
    /// The HTTP API (and `/metrics` on its port).
    case gateway
    case orchestrator
    /// One worker of an engine from the registry.
    case engine(String)
    /// A realtime worker: live sessions over WebSocket, found through the session router.
    case realtimeWorker

    /// What `dalston loglevel --service` calls it: `gateway`, `orchestrator`, or the engine's id.
    var names: [String] {
        switch self {
        case .gateway: ["gateway"]
        case .orchestrator: ["orchestrator"]
        case .engine(let id): ["engine", id]
        case .realtimeWorker: ["realtime-worker", "realtime"]
        }
    }
}

/// The one composition of Dalston: the broker, the artifact store, the engine registry and the
/// observability a process was started with, and every component built from them as a lifecycle
/// service. `dalston up`, each `dalston <service>`, `transcribe --embedded`, the tests and the
/// benchmarks all build from here, so they cannot drift apart.
package struct Deployment: Sendable {
    package let environment: [String: String]
    package let broker: any Broker
    /// `redis` or `in-memory` (for status, metrics and start-up logs).
    package let brokerKind: String
    package let artifacts: any ArtifactStore
    package let engines: EngineRegistry
    /// The models this machine has (`DALSTON_MODELS_DIR`) and the default one.
    package let models: ModelRegistry
    package let metrics: MetricsRuntime
    package let metricsConfiguration: MetricsConfiguration
    /// The span exporter, run last so it flushes what the others recorded (nil when tracing is off).
    package let tracing: (any Service)?
    package var orchestratorOptions = OrchestratorOptions()
    package var runnerOptions = EngineRunnerOptions()
    /// The logger of each component, by label (tests record them).
    package var makeLogger: @Sendable (String) -> Logger = { Logger(label: $0) }
    /// The process's service name (`gateway`, `orchestrator`, `engine`, `dalston` for `up`).
    package var serviceName = "dalston"
    /// Run-time log levels: the admin endpoints and the broker broadcast (nil: neither).
    package var logLevels: LogLevelAdministration?
    /// `DALSTON_ADMIN_TOKEN`: the bearer token of the admin endpoints (unset: they refuse).
    package var adminToken: String?
    /// Where realtime workers and reservations live: Redis with a Redis broker, else this
    /// process (shared by its gateway and realtime worker).
    package let sessionRouterStore: any SessionRouterStore
    package var sessionRouterOptions = SessionRouter.Options()
    /// The record database (job history, API keys, audit log): opened by `run` for the gateway
    /// and the orchestrator from `DATABASE_URL` (SQLite under the data directory when unset);
    /// set it directly in tests. nil: jobs live in the state store only.
    package var records: RecordStore?
    /// How webhooks are delivered (where an orchestrator runs).
    package var webhookOptions = WebhookDispatcherOptions()
    /// How often expired jobs are purged (`DALSTON_PURGE_INTERVAL`, seconds).
    package var purgeInterval: Duration = .seconds(3600)
    /// How often half-written artifacts are looked for (`DALSTON_ARTIFACT_SWEEP_INTERVAL`, seconds).
    package var artifactSweepInterval: Duration = .seconds(600)
    /// How old a half-written artifact must be to count as abandoned (`DALSTON_ABANDONED_UPLOAD_AGE`,
    /// seconds; an hour is far past any body timeout).
    package var abandonedWriteAge: Duration = .seconds(3600)
    /// How long ended realtime sessions are kept (`DALSTON_SESSION_RETENTION_DAYS`, else
    /// `DALSTON_RETENTION_DAYS`; unset: for good).
    package var sessionRetention: Duration?
    /// Tests only: one scripted live recogniser instead of the installed models (a session made
    /// slow or failing on purpose).
    package var makeStreamingRecognizer: (@Sendable ([String: String]) throws -> any StreamingRecognizer)?

    package init(
        environment: [String: String] = [:], broker: any Broker, artifacts: any ArtifactStore, engines: EngineRegistry = .builtIn,
        metrics: MetricsRuntime = .disabled, metricsConfiguration: MetricsConfiguration = MetricsConfiguration(enabled: false),
        tracing: (any Service)? = nil
    ) {
        self.environment = environment
        self.broker = broker
        self.brokerKind = broker is RedisBroker ? "redis" : "in-memory"
        if let redis = broker as? RedisBroker {
            self.sessionRouterStore = RedisSessionRouterStore(client: redis.client, prefix: redis.options.keyPrefix)
        } else {
            self.sessionRouterStore = InMemorySessionRouterStore()
        }
        self.artifacts = artifacts
        self.engines = engines
        self.models = Self.modelRegistry(environment)
        self.metrics = metrics
        self.metricsConfiguration = metricsConfiguration
        self.tracing = tracing
        // Renew a running task's lease well within its visibility timeout, whatever it is set to.
        runnerOptions.leaseRenewalInterval = min(.seconds(10), broker.options.visibilityTimeout / 3)
    }

    /// Everything from the environment, after `Observability` has checked and set up logging,
    /// metrics and tracing. A value that cannot be used is a `ConfigurationError`.
    package static func fromEnvironment(
        _ environment: [String: String], observability: Observability, engines: EngineRegistry = .builtIn
    ) throws(ConfigurationError) -> Deployment {
        let broker: any Broker
        do {
            broker = try BrokerFactory.make(environment: environment)
        } catch {
            throw ConfigurationError(description: error.description)
        }
        let artifacts = try ArtifactStoreFactory.make(environment: environment, instruments: observability.metrics.instruments(for: observability.service))
        var deployment = Deployment(
            environment: environment, broker: broker, artifacts: artifacts, engines: engines,
            metrics: observability.metrics, metricsConfiguration: observability.metricsConfiguration, tracing: observability.tracingService)
        let stall = try EnvironmentValue("DALSTON_JOB_STALL_TIMEOUT", in: environment).seconds(in: 0...604_800, default: .seconds(21_600))
        deployment.orchestratorOptions.stallTimeout = stall == .zero ? nil : stall
        // How long a task waits for an engine that is not running: 0 fails its job at once; "forever" never.
        if environment["DALSTON_ENGINE_WAIT_SECONDS"]?.lowercased() == "forever" {
            deployment.orchestratorOptions.engineWait = nil
        } else {
            deployment.orchestratorOptions.engineWait = try EnvironmentValue("DALSTON_ENGINE_WAIT_SECONDS", in: environment)
                .seconds(in: 0...604_800, default: .seconds(300))
        }
        deployment.webhookOptions = try WebhookDispatcherOptions.fromEnvironment(environment)
        deployment.purgeInterval = try EnvironmentValue("DALSTON_PURGE_INTERVAL", in: environment).seconds(in: 1...86_400, default: deployment.purgeInterval)
        let retentionDays = try RecordStoreConfiguration.fromEnvironment(environment).defaultRetentionDays
        if let days = environment["DALSTON_SESSION_RETENTION_DAYS"], !days.isEmpty {
            deployment.sessionRetention = .seconds(Double(try EnvironmentValue("DALSTON_SESSION_RETENTION_DAYS", in: environment).integer(in: 0...36_500, default: 0)) * 86_400)
        } else {
            deployment.sessionRetention = retentionDays.map { .seconds(Double($0) * 86_400) }
        }
        deployment.artifactSweepInterval = try EnvironmentValue("DALSTON_ARTIFACT_SWEEP_INTERVAL", in: environment)
            .seconds(in: 1...86_400, default: deployment.artifactSweepInterval)
        deployment.abandonedWriteAge = try EnvironmentValue("DALSTON_ABANDONED_UPLOAD_AGE", in: environment)
            .seconds(in: 1...604_800, default: deployment.abandonedWriteAge)
        _ = try RecordStoreConfiguration.fromEnvironment(environment)  // a bad DATABASE_URL stops start-up here, with the others
        deployment.orchestratorOptions.lostStateGrace = try EnvironmentValue("DALSTON_JOB_LOST_STATE_GRACE", in: environment)
            .seconds(in: 1...86_400, default: deployment.orchestratorOptions.lostStateGrace)
        deployment.serviceName = observability.service
        deployment.logLevels = LogLevelAdministration.process
        deployment.adminToken = environment["DALSTON_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        deployment.orchestratorOptions.keepWorkingFiles = try EnvironmentValue("DALSTON_KEEP_AUDIO", in: environment).bool(default: false)
        deployment.sessionRouterOptions.staleAfter = try EnvironmentValue("DALSTON_REALTIME_WORKER_TIMEOUT", in: environment)
            .seconds(in: 1...3600, default: .seconds(15)).seconds
        deployment.sessionRouterOptions.sessionsPerKey = try EnvironmentValue("DALSTON_REALTIME_MAX_SESSIONS_PER_KEY", in: environment)
            .integer(in: 0...100_000, default: 5)
        deployment.sessionRouterOptions.lease = try EnvironmentValue("DALSTON_REALTIME_SESSION_LEASE", in: environment)
            .seconds(in: 1...3600, default: .seconds(60)).seconds
        deployment.sessionRouterOptions.reconcileInterval = min(5, deployment.sessionRouterOptions.lease / 2)
        return deployment
    }

    /// Installed models plus PocketSphinx where it is compiled in. The default is
    /// `DALSTON_DEFAULT_MODEL`, else Whisper when this machine can run it, else PocketSphinx:
    /// without a Python runner here, Whisper models stay listed (engines elsewhere may run them)
    /// but nothing chooses them unasked.
    package static func modelRegistry(_ environment: [String: String]) -> ModelRegistry {
        let builtIn = TranscribeEngine.isAvailable ? [ModelCatalogue.pocketSphinx] : []
        let configured = environment["DALSTON_DEFAULT_MODEL"].flatMap { $0.isEmpty ? nil : $0 }
        let fallback = RunnerCommand.python(in: environment) == nil ? ModelCatalogue.pocketSphinx.id : nil
        return ModelRegistry(directory: ModelRegistry.directory(in: environment), builtIn: builtIn, defaultModel: configured ?? fallback)
    }

    // MARK: Components

    package func jobService() -> JobService {
        JobService(state: broker, events: broker, artifacts: artifacts, history: records?.jobs, logger: makeLogger("dalston.gateway"))
    }

    /// `withRealtimeWorker`: the process runs its own realtime worker (`dalston up`), so the
    /// gateway is not ready until that worker can take a session.
    package func gateway(withRealtimeWorker: Bool = false) throws(ConfigurationError) -> Gateway {
        var configuration: GatewayConfiguration
        do {
            configuration = try GatewayConfiguration.fromEnvironment(environment)
        } catch {
            throw ConfigurationError(description: error.description)
        }
        if withRealtimeWorker { configuration.readinessRequiresRealtime = true }
        configuration.models = ModelCatalogue(registry: models)
        return Gateway(
            configuration: configuration, jobs: jobService(), queues: broker, workers: broker, brokerKind: brokerKind,
            engineIDs: engines.engineIDs, metrics: metrics, logLevels: logLevels.map { ($0, token: adminToken) },
            realtime: RealtimeGateway(router: sessionRouter(), records: sessionArchive), records: records, rateCounter: broker,
            logger: makeLogger("dalston.gateway"))
    }

    /// Realtime sessions' records: the record database's, else the state store's.
    package var sessionArchive: any RealtimeSessionArchive {
        records?.sessions ?? RealtimeSessionRecords(state: broker)
    }

    package func sessionRouter() -> SessionRouter {
        SessionRouter(
            store: sessionRouterStore, options: sessionRouterOptions, instruments: metrics.instruments(for: "gateway"),
            logger: makeLogger("dalston.session_router"))
    }

    /// A realtime worker with `DALSTON_REALTIME_MAX_SESSIONS` slots, streaming `liveModels()`.
    package func realtimeWorker() throws(ConfigurationError) -> RealtimeWorker {
        let configuration = try RealtimeWorkerConfiguration.fromEnvironment(environment)
        return RealtimeWorker(
            configuration: configuration, models: try liveModels(),
            router: sessionRouterStore, instruments: metrics.instruments(for: "realtime"),
            metricsEndpoint: { [exposition = metrics.exposition] in exposition?.endpoint }, artifacts: artifacts,
            spoolDirectory: FileArtifactStore.fromEnvironment(environment).root.appendingPathComponent("spool", isDirectory: true),
            logger: makeLogger("dalston.realtime"))
    }

    package func orchestrator() -> Orchestrator {
        Orchestrator(
            state: broker, events: broker, artifacts: artifacts, history: records?.jobs, workers: broker, options: orchestratorOptions,
            metrics: metrics.instruments(for: "orchestrator"),
            logger: makeLogger("dalston.orchestrator"))
    }

    package func engineRunner(_ engineID: String) throws(ConfigurationError) -> EngineRunner {
        let engine: any Engine
        do {
            engine = try engines.make(engineID, environment: environment)
        } catch {
            throw ConfigurationError(description: error.description)
        }
        return EngineRunner(
            engine: engine, queue: broker, state: broker, events: broker, workers: broker, artifacts: artifacts, options: runnerOptions,
            metrics: metrics.instruments(for: "engine"), metricsEndpoint: { [exposition = metrics.exposition] in exposition?.endpoint },
            logger: makeLogger("dalston.engine.\(engineID)"))
    }

    /// How many workers of `engineID` one process runs: `DALSTON_WHISPER_WORKERS` for Whisper
    /// (each with a runner process of its own), one for the engines that work in process.
    func workers(of engineID: String) throws(ConfigurationError) -> Int {
        engineID == EngineKind.whisper ? try WhisperSettings.fromEnvironment(environment).workers : 1
    }

    /// The services of `roles`, plus what they need: broker gauges where an orchestrator runs,
    /// a `/metrics` port for a process without the gateway.
    package func services(_ roles: [Role]) throws(ConfigurationError) -> [any Service] {
        var services: [any Service] = []
        for role in roles {
            switch role {
            case .gateway:
                services.append(try gateway(withRealtimeWorker: roles.contains(.realtimeWorker)).makeApplication())
                services.append(SessionRouterHealthService(router: sessionRouter(), records: sessionArchive))
            case .orchestrator: services.append(orchestrator())
            case .engine(let id):
                for _ in 0..<(try workers(of: id)) { services.append(try engineRunner(id)) }
            case .realtimeWorker: services.append(try realtimeWorker())
            }
        }
        if let records, roles.contains(where: { $0 == .gateway || $0 == .orchestrator }) {
            metrics.exposition?.add(RecordStoreMetricsSampler(records: records, instruments: metrics.instruments(for: serviceName)))
            if roles.contains(.orchestrator) {
                // Beside the pipeline, never in its way: deliveries and purges only read and
                // write the record database.
                services.append(WebhookDispatcher(
                    records: records, options: webhookOptions, instruments: metrics.instruments(for: "orchestrator"), logger: makeLogger("dalston.webhooks")))
                services.append(RetentionPurge(
                    records: records, state: broker, artifacts: artifacts, interval: purgeInterval, sessionRetention: sessionRetention,
                    instruments: metrics.instruments(for: "orchestrator"),
                    logger: makeLogger("dalston.retention")))
            }
        }
        if roles.contains(.orchestrator) {
            metrics.exposition?.add(BrokerMetricsSampler(
                broker: broker, brokerKind: brokerKind, engineIDs: engines.engineIDs, instruments: metrics.instruments(for: "orchestrator")))
        }
        if !roles.contains(.gateway), metricsConfiguration.enabled, let exposition = metrics.exposition {
            let defaultPort = roles.contains(.orchestrator) ? 9400 : 9401
            // The configured host, loopback unless set: /metrics is not for the world by default.
            let host = environment["DALSTON_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
            // Unset: the first free port from the default, so several engines share a host.
            let port: MetricsListener.Port = metricsConfiguration.port.map { .exactly($0) } ?? .firstFree(from: defaultPort, count: 100)
            services.append(MetricsListener(exposition, host: host, port: port, admin: logLevels.map { ($0, token: adminToken) }))
        }
        if !roles.isEmpty {
            // Every process, once: a gateway's uploads cut short by a crash leave temporary files
            // or multipart uploads; an engine's or worker's downloaded copies must not pile up.
            services.append(ArtifactSweep(artifacts: artifacts, interval: artifactSweepInterval, age: abandonedWriteAge, logger: makeLogger("dalston.storage")))
        }
        if let logLevels {
            let names = Set([serviceName] + roles.flatMap(\.names))
            services.append(LogLevelBroadcastService(events: broker, administration: logLevels, names: names, logger: makeLogger("dalston.logging")))
        }
        return services
    }

    /// Runs `roles` until SIGTERM/SIGINT (or the calling task is cancelled), then shuts down in
    /// reverse order: the components, then the broker's connections, then the span exporter.
    package func run(_ roles: [Role], logger: Logger = Logger(label: "dalston.lifecycle")) async throws {
        let deployment = try await openingRecords(for: roles)
        try await deployment.serviceGroup(try deployment.services(roles), signals: [.sigterm, .sigint], logger: logger).run()
    }

    /// This deployment with its record database open (and migrated) when `roles` use one: the
    /// gateway and the orchestrator do, engines and realtime workers do not.
    package func openingRecords(for roles: [Role]) async throws(ConfigurationError) -> Deployment {
        guard records == nil, roles.contains(where: { $0 == .gateway || $0 == .orchestrator }) else { return self }
        var deployment = self
        let configuration = try RecordStoreConfiguration.fromEnvironment(environment)
        let store = try await RecordStoreFactory.open(configuration, logger: makeLogger("dalston.records"))
        makeLogger("dalston.records").info("database_opened", metadata: ["database": "\(store.location)"])
        deployment.records = store
        return deployment
    }

    /// Starts `roles` in the background (tests, benchmarks, `transcribe --embedded`).
    package func start(_ roles: [Role]) throws(ConfigurationError) -> RunningDeployment {
        RunningDeployment(group: serviceGroup(try services(roles), signals: [], logger: makeLogger("dalston.lifecycle")))
    }

    func serviceGroup(_ services: [any Service], signals: [UnixSignal], logger: Logger) -> ServiceGroup {
        // ServiceGroup stops services in reverse order of this list.
        let all = (tracing.map { [$0] } ?? []) + [BrokerShutdownService(broker: broker)]
            + (records.map { [RecordStoreShutdownService(records: $0)] } ?? []) + services
        return ServiceGroup(configuration: .init(
            services: all.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: signals, logger: logger))
    }
}

/// Services started by `Deployment.start`; `stop()` shuts them down gracefully and waits.
package final class RunningDeployment: Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(group: ServiceGroup) {
        self.group = group
        self.task = Task { try await group.run() }
    }

    package func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}
