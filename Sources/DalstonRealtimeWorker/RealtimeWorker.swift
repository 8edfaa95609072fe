import DalstonCore
import DalstonLogging
package import DalstonPipeline
package import DalstonMetrics
import DalstonPropagation
package import DalstonRealtime
package import DalstonSessionRouter
package import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
package import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Tracing

/// A realtime worker: a WebSocket server that gateways connect to (`/session?…`, the native
/// protocol), one recogniser per session up to its capacity (of the model the session names,
/// among those it serves), and heartbeats to the session router so gateways can find it.
/// Clients never reach it directly.
package struct RealtimeWorker: Service {
    let configuration: RealtimeWorkerConfiguration
    let models: LiveModels
    let router: any SessionRouterStore
    let instruments: Instruments
    let metricsEndpoint: @Sendable () -> String?
    let logger: Logger
    /// Where sessions that ask for it keep their audio and transcript (nil: nowhere; refused).
    let artifacts: (any ArtifactStore)?
    /// This machine's directory for session audio while it is recorded.
    let spoolDirectory: URL
    /// The port actually bound (differs from the configured one when that was 0).
    private let boundPort = BoundPort()

    /// Before it announces itself the worker prepares its default model (`models.prepare`) and
    /// makes its recogniser for every slot, each on the slot's own thread (loading a model takes
    /// a moment of CPU; no client waits for it, and no task is blocked).
    package init(
        configuration: RealtimeWorkerConfiguration, models: LiveModels,
        router: any SessionRouterStore, instruments: Instruments = .disabled, metricsEndpoint: @escaping @Sendable () -> String? = { nil },
        artifacts: (any ArtifactStore)? = nil, spoolDirectory: URL = FileManager.default.temporaryDirectory,
        logger: Logger = Logger(label: "dalston.realtime")
    ) {
        self.configuration = configuration
        self.artifacts = artifacts
        self.spoolDirectory = spoolDirectory
        self.models = models
        self.router = router
        self.instruments = instruments
        self.metricsEndpoint = metricsEndpoint
        self.logger = logger
        instruments.gauge(DalstonMetric.realtimeCapacity, [("worker_id", configuration.workerID)]).record(configuration.capacity)
        instruments.gauge(DalstonMetric.realtimeSessionsActive, [("worker_id", configuration.workerID)]).record(0)
        instruments.startAtZero(DalstonMetric.realtimeTranscripts, [[("type", "partial")], [("type", "final")]])
        _ = instruments.floatingCounter(DalstonMetric.realtimeAudioProcessed, [("worker_id", configuration.workerID)])
    }

    package var endpoint: String? {
        if let advertised = configuration.advertisedEndpoint { return advertised }
        return boundPort.value.withLock { $0 }.map { "ws://\(configuration.host):\($0)" }
    }

    package func run() async throws {
        guard let pool = await loadRecognizersUntilReady() else { return }
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.get("/health") { _, _ in "ok" }
        router.ws("/session") { inbound, outbound, context in
            let request = context.request
            let correlation = SessionCorrelation.metadata { name in HTTPField.Name(name).flatMap { request.headers[$0] } }
            await serve(inbound: inbound, outbound: outbound, query: Self.query(request), correlation: correlation, pool: pool)
        }
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(
                http1: .init(idleTimeout: .seconds(60)),
                ws: .init(maxFrameSize: configuration.maximumFrameBytes, autoPing: .enabled(timePeriod: .seconds(20))))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "dalston-realtime"),
            onServerRunning: { channel in
                boundPort.value.withLock { $0 = channel.localAddress?.port }
            },
            logger: Logger(label: "dalston.realtime.server"))
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await app.run() }
                group.addTask { await heartbeats(pool: pool) }
            }
        } catch {
            await models.shutdown()
            throw error
        }
        await models.shutdown()
    }

    static func query(_ request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
        return query
    }

    // MARK: Heartbeats

    /// How long the worker waits before it tries again to load a recogniser that failed.
    static let loadRetryInterval: Duration = .seconds(30)

    /// The slots, once their recognisers load. A model that does not load (its runner's Python
    /// is broken, say) does not stop the process (under `dalston up`, batch jobs go on and say
    /// why they fail): the worker says why, is not announced (so gateways refuse sessions with
    /// `no_capacity` and `/ready` says realtime is not ready), and tries again. nil: shut down
    /// while waiting.
    private func loadRecognizersUntilReady() async -> RecognizerPool? {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                return try await loadRecognizers()
            } catch {
                logger.error("realtime_worker_unavailable", metadata: [
                    "worker_id": "\(configuration.workerID)", "error": "\(error)", "retry_in_seconds": "\(Self.loadRetryInterval.seconds)",
                ])
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.loadRetryInterval) }
            }
        }
        return nil
    }

    /// The slots, each with its recogniser of the default model loaded.
    private func loadRecognizers() async throws -> RecognizerPool {
        let pool = RecognizerPool(models: models, capacity: configuration.capacity)
        do {
            try await models.prepare()
            try await pool.load(models.defaultModel)
        } catch {
            await models.shutdown()
            throw ConfigurationError(description: "the realtime worker cannot load its recogniser (\(models.defaultModel)): \(error)")
        }
        return pool
    }

    private func heartbeats(pool: RecognizerPool) async {
        var announced = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let endpoint {
                let info = RealtimeWorkerInfo(
                    workerID: configuration.workerID, endpoint: endpoint, capacity: configuration.capacity, active: pool.inUse,
                    status: pool.inUse >= configuration.capacity ? "busy" : "ready", models: models.models, metricsEndpoint: metricsEndpoint())
                do {
                    try await router.announce(info)
                    if !announced {
                        announced = true
                        logger.notice("realtime_worker_ready", metadata: [
                            "worker_id": "\(configuration.workerID)", "endpoint": "\(endpoint)", "capacity": "\(configuration.capacity)",
                        ])
                    }
                } catch {
                    logger.warning("realtime_heartbeat_failed", metadata: ["worker_id": "\(configuration.workerID)", "error": "\(error.description)"])
                }
            }
            let pause = announced ? configuration.heartbeatInterval : .milliseconds(50)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
        // Leaving: no new sessions; the router forgets this worker.
        try? await router.withdraw(workerID: configuration.workerID)
        logger.notice("realtime_worker_withdrawn", metadata: ["worker_id": "\(configuration.workerID)"])
    }

    // MARK: Sessions

    /// One session. `correlation` comes from the upgrade's headers (`SessionCorrelation`); a
    /// gateway of an earlier version sent the same fields in the query, still read.
    func serve(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, query: [String: String], correlation: [String: String] = [:],
        pool: RecognizerPool
    ) async {
        var correlation = correlation
        for key in [MessageMetadataKey.sessionID, MessageMetadataKey.requestID, MessageMetadataKey.traceparent, MessageMetadataKey.tracestate]
        where correlation[key] == nil {
            correlation[key] = query[key]
        }
        let sessionID = correlation[MessageMetadataKey.sessionID].flatMap { $0.isEmpty ? nil : $0 } ?? SessionRouter.newSessionID()
        let requestID = correlation[MessageMetadataKey.requestID] ?? ""
        await withLogContext(["request_id": "\(requestID)", "session_id": "\(sessionID)", "worker_id": "\(configuration.workerID)"]) {
            var settings: SessionSettings
            do {
                settings = try SessionSettings(query: query, sessionID: sessionID)
                settings.model = try models.resolve(settings.model)
            } catch {
                logger.warning("session_refused", metadata: ["reason": "invalid_parameters", "error": "\(error)"])
                try? await outbound.write(.text(RealtimeEvent.error(RealtimeError(code: "invalid_parameters", message: "\(error)", recoverable: false)).json))
                try? await outbound.close(.unknown(4400), reason: "Invalid parameters")
                return
            }
            guard let lane = pool.take() else {
                logger.warning("session_refused", metadata: ["reason": "at_capacity", "capacity": "\(configuration.capacity)"])
                try? await outbound.write(.text(RealtimeEvent.error(RealtimeError(code: "no_capacity", message: "this worker is serving \(configuration.capacity) sessions already", recoverable: false)).json))
                try? await outbound.close(.unknown(1013), reason: "Server at capacity")
                return
            }
            defer { pool.give(lane) }
            let (parent, problem) = MessageTracing.extract(from: correlation)
            if let problem, problem != .missing { logger.warning("trace_context_ignored", metadata: ["reason": "\(problem)"]) }
            await withTracedSpan("realtime.session", context: parent, ofKind: .server) { span in
                span.attributes["dalston.session_id"] = sessionID
                span.attributes["dalston.request_id"] = requestID
                span.attributes["dalston.worker_id"] = configuration.workerID
                span.attributes["dalston.language"] = settings.language
                span.attributes["dalston.model"] = settings.model
                await run(
                    lane: lane, pool: pool, settings: settings, correlation: [MessageMetadataKey.sessionID: sessionID, MessageMetadataKey.requestID: requestID],
                    inbound: inbound, outbound: outbound, span: span)
            }
        }
    }

    private func run(
        lane: RecognizerLane, pool: RecognizerPool, settings: SessionSettings, correlation: [String: String], inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter, span: any Span
    ) async {
        let started = ContinuousClock.now
        let active = instruments.gauge(DalstonMetric.realtimeSessionsActive, [("worker_id", configuration.workerID)])
        active.record(pool.inUse)
        defer { active.record(pool.inUse - 1) }
        logger.info("realtime_session_started", metadata: [
            "encoding": "\(settings.encoding.rawValue)", "sample_rate": "\(settings.sampleRate)", "enable_vad": "\(settings.enableVAD)",
            "language": "\(settings.language)", "model": "\(settings.model)",
        ])
        var tracker = EventTracker(instruments: instruments, workerID: configuration.workerID, logger: logger, sessionContext: ServiceContext.current ?? .topLevel)
        let begin: RealtimeEvent
        do {
            begin = try await lane.open(settings, correlation: correlation)
        } catch {
            logger.error("realtime_recognizer_failed", metadata: ["model": "\(settings.model)", "error": "\(error)"])
            try? await outbound.write(.text(RealtimeEvent.error(RealtimeError(
                code: "model_unavailable", message: "the recogniser of \(settings.model) could not be loaded; retry, or name another model", recoverable: false)).json))
            try? await outbound.close(.unexpectedServerError, reason: "Recogniser unavailable")
            return
        }
        var lag = RealTimeLag(threshold: configuration.maximumLag.seconds)
        let recorder = SessionRecorder(settings: settings, artifacts: artifacts, spoolDirectory: spoolDirectory, logger: logger)
        var finished = false
        // Audio bytes decoded so far, acknowledged after each message (`WorkerProgress`).
        var decodedBytes = 0
        do {
            try await outbound.write(.text(begin.json))
            var iterator = inbound.messages(maxSize: configuration.maximumFrameBytes).makeAsyncIterator()
            while !finished, let message = try await iterator.next() {
                let events: [RealtimeEvent]
                switch message {
                case .binary(let buffer):
                    let bytes = Array(buffer.readableBytesView)
                    recorder?.record(bytes)
                    let decodingStarted = ContinuousClock.now
                    var decoded = await lane.run { $0.audio(bytes) } ?? []
                    let seconds = Double(bytes.count / settings.encoding.bytesPerSample) / Double(settings.sampleRate)
                    tracker.audio(seconds: seconds)
                    if let change = lag.record(audioSeconds: seconds, processingSeconds: (ContinuousClock.now - decodingStarted).seconds) {
                        decoded += reportLag(change, sessionID: settings.sessionID)
                    }
                    events = decoded
                case .text(let text):
                    do {
                        let control = try ClientMessage.parse(text)
                        events = await lane.run { $0.control(control) } ?? []
                    } catch {
                        events = [.error(error)]
                    }
                }
                for event in events {
                    tracker.observe(event)
                    if case .sessionEnd(let ended) = event {
                        finished = true
                        // Stored before the client hears the end, so it can fetch them at once.
                        await recorder?.finish(summary: ended)
                    }
                    try await outbound.write(.text(event.json))
                }
                if !finished, case .binary(let buffer) = message {
                    decodedBytes += buffer.readableBytes
                    try await outbound.write(.text(WorkerProgress(audioBytes: decodedBytes).json))
                }
            }
        } catch {
            logger.warning("realtime_session_connection_lost", metadata: ["error": "\(error)"])
        }
        if !finished {
            // The gateway went away without `end`: finish for the log and metrics; nobody reads it.
            for event in await lane.close() {
                tracker.observe(event)
                if case .sessionEnd(let ended) = event { await recorder?.finish(summary: ended) }
            }
            logger.warning("realtime_session_abandoned", metadata: ["audio_seconds": "\(tracker.audioSeconds)"])
        } else {
            _ = await lane.close()
            try? await outbound.close(.normalClosure, reason: nil)
        }
        await recorder?.finish(summary: nil)
        let duration = (ContinuousClock.now - started).seconds
        instruments.record(DalstonMetric.realtimeSessionDuration, seconds: duration)
        span.attributes["dalston.total_audio_s"] = tracker.audioSeconds
        span.attributes["dalston.finals"] = tracker.finals
        logger.info("realtime_session_ended", metadata: [
            "audio_seconds": "\(String(format: "%.2f", tracker.audioSeconds))", "finals": "\(tracker.finals)", "partials": "\(tracker.partials)",
            "duration_seconds": "\(String(format: "%.2f", duration))", "finished_by_client": "\(finished)",
        ])
    }
}

extension RealtimeWorker {
    /// A session's decoding fell behind its audio, or caught up: logged, counted, and the client
    /// told while it is behind (recoverable: the session goes on, its transcripts come late).
    func reportLag(_ change: RealTimeLag.Change, sessionID: String) -> [RealtimeEvent] {
        switch change {
        case .fellBehind(let seconds):
            logger.warning("realtime_session_behind", metadata: [
                "session_id": "\(sessionID)", "lag_seconds": "\(String(format: "%.2f", seconds))",
                "limit_seconds": "\(configuration.maximumLag.seconds)",
            ])
            instruments.increment(DalstonMetric.realtimeSessionsBehind, [("worker_id", configuration.workerID)])
            return [.error(RealtimeError(
                code: "falling_behind",
                message: String(format: "decoding is %.1f s behind the audio; transcripts arrive late (the worker is overloaded)", seconds),
                recoverable: true))]
        case .caughtUp:
            logger.info("realtime_session_caught_up", metadata: ["session_id": "\(sessionID)"])
            return []
        }
    }
}

/// Counts, logs and traces what a session emitted: an utterance span from speech start to its
/// final, transcripts and audio seconds as metrics.
struct EventTracker {
    let instruments: Instruments
    let workerID: String
    let logger: Logger
    let sessionContext: ServiceContext
    var audioSeconds = 0.0
    var finals = 0
    var partials = 0
    private var utteranceStart: Date?

    init(instruments: Instruments, workerID: String, logger: Logger, sessionContext: ServiceContext) {
        self.instruments = instruments
        self.workerID = workerID
        self.logger = logger
        self.sessionContext = sessionContext
    }

    mutating func audio(seconds: Double) {
        audioSeconds += seconds
        instruments.increment(DalstonMetric.realtimeAudioProcessed, [("worker_id", workerID)], byFractional: seconds)
    }

    mutating func observe(_ event: RealtimeEvent) {
        switch event {
        case .speechStart:
            utteranceStart = Date()
        case .partial:
            partials += 1
            instruments.increment(DalstonMetric.realtimeTranscripts, [("type", "partial")])
        case .final(let final):
            finals += 1
            instruments.increment(DalstonMetric.realtimeTranscripts, [("type", "final")])
            let span = startSpan("realtime.generate_transcript", context: sessionContext, at: WallClockInstant(utteranceStart ?? Date()))
            span.attributes["dalston.utterance_start_s"] = final.start
            span.attributes["dalston.utterance_end_s"] = final.end
            span.attributes["dalston.word_count"] = final.text.split(separator: " ").count
            span.end()
            utteranceStart = nil
            logger.debug("transcript_final", metadata: ["start": "\(final.start)", "end": "\(final.end)", "words": "\(final.text.split(separator: " ").count)"])
        case .error(let error):
            logger.warning("realtime_session_error", metadata: ["code": "\(error.code)", "error": "\(error.message)"])
        case .sessionBegin, .speechEnd, .sessionEnd:
            break
        }
    }
}

/// The port the server bound, known once it runs.
final class BoundPort: Sendable {
    let value = Mutex<Int?>(nil)
}
