package import DalstonBroker
package import DalstonMetrics
package import DalstonObservability
package import DalstonPipeline
package import DalstonRecords
import DalstonSessionRouter
import Foundation
package import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
package import Logging
import NIOCore

/// The HTTP API: composes each dialect (`Dialects/`) from the application services it needs
/// (job service, upload intake, audit trail, session relay) and serves them with Hummingbird.
package struct Gateway: Sendable {
    package let configuration: GatewayConfiguration
    let instruments: Instruments
    /// `/admin/log-level`, for the admin token.
    let logLevels: (LogLevelAdministration, token: String?)?
    let native: NativeAPI
    let openAI: OpenAIAPI
    let elevenLabs: ElevenLabsAPI
    let webhooks: WebhooksAPI
    let keys: KeysAPI
    let elevenLabsTokens: ElevenLabsTokenAPI
    let transcriptionSessions: TranscriptionSessionAPI
    let taskArtifacts: TaskArtifactsAPI
    let jobStats: JobStatsAPI
    let auditLog: AuditAPI
    let docs: DocsAPI
    let system: SystemAPI
    let realtime: RealtimeAPI

    package init(
        configuration: GatewayConfiguration, jobs: JobService, queues: any TaskQueue, workers: any WorkerRegistry, brokerKind: String,
        engineIDs: [String] = EngineKind.all, metrics: MetricsRuntime = .disabled,
        logLevels: (LogLevelAdministration, token: String?)? = nil, realtime: RealtimeGateway? = nil, records: RecordStore? = nil,
        rateCounter: any RateCounter = LocalRateCounter(), logger: Logger = Logger(label: "dalston.gateway")
    ) {
        let instruments = metrics.instruments(for: "gateway")
        instruments.startAtZero(DalstonMetric.gatewayAuthFailures, APIKeyCheck.refusalReasons.map { [("reason", $0)] })
        instruments.startAtZero(DalstonMetric.gatewayJobsCreated, [[("api", "native")], [("api", "openai")], [("api", "elevenlabs")]])
        for kind in RealtimeProtocol.allCases { instruments.gauge(DalstonMetric.websocketConnections, [("protocol", kind.rawValue)]).record(0) }
        instruments.startAtZero(DalstonMetric.routerSessions, ["completed", "interrupted", "timeout", "error", "no_capacity", "rejected"].map { [("status", $0)] })
        self.configuration = configuration
        self.instruments = instruments
        self.logLevels = logLevels
        instruments.startAtZero(DalstonMetric.gatewayRateLimited, [[("reason", "requests")], [("reason", "concurrent_jobs")]])
        let keyCheck = APIKeyCheck(configuration: configuration, records: records, metrics: instruments)
        let guards = RouteGuards(
            keys: keyCheck,
            rateLimit: RateLimitMiddleware(limits: configuration.limits, counter: rateCounter, metrics: instruments, logger: logger))
        let intake = UploadIntake(configuration: configuration, jobs: jobs, instruments: instruments, logger: logger)
        let audit = AuditTrail(records: records)
        let openAI = OpenAIAPI(configuration: configuration, intake: intake, guards: guards)
        self.openAI = openAI
        self.native = NativeAPI(
            configuration: configuration, jobs: jobs, intake: intake, audit: audit, records: records, guards: guards,
            claims: [openAI.transcriptionClaim])
        self.elevenLabs = ElevenLabsAPI(configuration: configuration, jobs: jobs, intake: intake, audit: audit, guards: guards)
        self.webhooks = WebhooksAPI(records: records, audit: audit, guards: guards, addressPolicy: configuration.addressPolicy)
        self.keys = KeysAPI(configuration: configuration, records: records, audit: audit, guards: guards)
        let mint = TokenMint(records: records, audit: audit)
        self.elevenLabsTokens = ElevenLabsTokenAPI(mint: mint, guards: guards)
        self.transcriptionSessions = TranscriptionSessionAPI(mint: mint, guards: guards)
        self.taskArtifacts = TaskArtifactsAPI(jobs: jobs, guards: guards)
        self.jobStats = JobStatsAPI(jobs: jobs, guards: guards)
        self.auditLog = AuditAPI(records: records, guards: guards)
        self.docs = DocsAPI(guards: guards)
        self.system = SystemAPI(
            jobs: jobs, queues: queues, workers: workers, engineIDs: engineIDs, brokerKind: brokerKind, models: configuration.models, records: records,
            exposition: metrics.exposition, guards: guards, logger: logger, realtime: realtime?.router,
            requiresRealtime: configuration.readinessRequiresRealtime)
        var relayOptions = SessionRelay.Options()
        relayOptions.maximumFrameBytes = configuration.realtimeMaximumFrameBytes
        relayOptions.idleTimeout = configuration.realtimeIdleTimeout
        relayOptions.endWait = configuration.realtimeEndWait
        relayOptions.resolveModel = { [models = configuration.models] settings, kind in models.liveModel(for: settings, protocol: kind) }
        let relay = realtime.map {
            SessionRelay(router: $0.router, records: $0.records, options: relayOptions, instruments: instruments, logger: logger)
        }
        self.realtime = RealtimeAPI(
            realtime: realtime, relay: relay, guards: guards, keyStatus: records.map { KeyStatusWatch(records: $0) },
            endpoints: [NativeAPI.realtimeEndpoint, ElevenLabsAPI.realtimeEndpoint, OpenAIAPI.realtimeEndpoint], artifacts: jobs.artifacts,
            presignedDownloads: configuration.presignedDownloads ? configuration.presignedURLLifetime : nil)
    }

    /// Every dialect's route collection, each with its error shape and the access it needs,
    /// behind the middleware every request goes through. A fourth dialect is one more folder
    /// and one more line here.
    package func makeRouter() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: TracingMiddleware())
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestLogMiddleware(metrics: instruments))
        if !configuration.corsOrigins.isEmpty { router.add(middleware: CORSMiddleware(origins: configuration.corsOrigins)) }
        // What no collection answers (an unmatched path) gets the native shape.
        router.add(middleware: ErrorShapeMiddleware(.native))
        router.addRoutes(system.probeRoutes())
        router.addRoutes(docs.routes())
        router.addRoutes(system.statusRoutes(), atPath: "/v1")
        router.addRoutes(keys.routes(), atPath: "/auth")
        router.addRoutes(keys.adminRoutes(), atPath: "/auth")
        logLevels?.0.addRoutes(to: router, token: logLevels?.token)
        router.addRoutes(native.routes(), atPath: "/v1/audio/transcriptions")
        router.addRoutes(taskArtifacts.routes(), atPath: "/v1/audio/transcriptions")
        router.addRoutes(jobStats.routes(), atPath: "/v1/jobs")
        router.addRoutes(auditLog.routes(), atPath: "/v1/audit")
        router.addRoutes(openAI.routes(), atPath: "/v1")
        router.addRoutes(elevenLabs.routes(), atPath: "/v1/speech-to-text")
        router.addRoutes(webhooks.routes(), atPath: "/v1/webhooks")
        router.addRoutes(realtime.routes(), atPath: "/v1/realtime")
        router.addRoutes(transcriptionSessions.routes(), atPath: "/v1/realtime")
        router.addRoutes(elevenLabsTokens.routes(), atPath: "/v1/single-use-token")
        router.addRoutes(realtime.webSocketPathRoutes())
        return router
    }

    /// The WebSocket endpoints, on the router that decides upgrades.
    func makeWebSocketRouter() -> Router<GatewayRequestContext> {
        realtime.webSocketRouter()
    }

    /// The server, with the limits that keep slow or idle clients from starving it: an idle
    /// timeout (no complete headers, no body progress, or nothing between keep-alive requests),
    /// a deadline for each request body, and a cap on open connections. WebSocket upgrades go to
    /// the realtime endpoints.
    package func makeApplication() -> some ApplicationProtocol {
        let logger = Logger(label: "dalston.gateway.server")
        let bodyTimeout = TimeAmount.nanoseconds(Int64(configuration.bodyTimeout.seconds * 1e9))
        let idleTimeout = TimeAmount.nanoseconds(Int64(configuration.idleTimeout.seconds * 1e9))
        let http = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestBodyDeadlineHandler(timeout: bodyTimeout, logger: logger)], idleTimeout: idleTimeout)
        let webSocketResponder = makeWebSocketRouter().buildResponder()
        // A frame well over the message limit is refused by the frame decoder; smaller ones that
        // still break the limit get a JSON error first. No pings: a client's pong waits behind the
        // audio it sent, which the relay reads only as fast as the worker decodes (back-pressure);
        // a client that goes silent meets the idle timeout instead.
        let webSocket = WebSocketServerConfiguration(
            maxFrameSize: SessionRelay.Options.transportFrameBytes(limit: configuration.realtimeMaximumFrameBytes), autoPing: .disabled)
        let server = HTTPServerBuilder { responder in
            FirstRequestDeadlineChannel(
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder, configuration: .init(http1: http, ws: webSocket)),
                deadline: idleTimeout, logger: logger)
        }
        return Application(
            router: makeRouter(),
            server: server,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "dalston",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maximumConnections, logger: logger)),
            logger: logger)
    }
}
