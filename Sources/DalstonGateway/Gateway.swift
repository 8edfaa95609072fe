package import DalstonAudio
package import DalstonBroker
package import DalstonCore
package import DalstonMetrics
package import DalstonObservability
package import DalstonPipeline
package import DalstonRecords
package import DalstonSessionRouter
package import DalstonPropagation
package import Foundation
package import HTTPTypes
package import Hummingbird
package import HummingbirdCore
package import HummingbirdWebSocket
package import Logging
package import NIOCore

/// The HTTP API: builds the Hummingbird application from a broker, an artifact store and the
/// gateway configuration.
package struct Gateway: Sendable {
    package let configuration: GatewayConfiguration
    package let jobs: JobService
    let queues: any TaskQueue
    let workers: any WorkerRegistry
    /// Every engine the deployment knows, so the status lists each (with 0 workers when none runs).
    let engineIDs: [String]
    let brokerKind: String
    let logger: Logger
    /// The process's metrics: the gateway records its own and serves all of them at `/metrics`.
    let metrics: MetricsRuntime
    let instruments: Instruments
    /// Uploads being received now, bounded by `maximumConcurrentUploads`.
    let uploadSlots: UploadSlots
    /// `/admin/log-level`, for the admin token.
    let logLevels: (LogLevelAdministration, token: String?)?
    /// Live sessions: the session router and the session records (nil: realtime refused).
    let realtime: RealtimeGateway?
    /// Relays each realtime connection to a worker (nil: realtime refused).
    let relay: SessionRelay?
    /// The record database: API keys (and, through `jobs`, the job history). nil: keys come
    /// from `DALSTON_API_KEYS` only.
    let records: RecordStore?

    package init(
        configuration: GatewayConfiguration, jobs: JobService, queues: any TaskQueue, workers: any WorkerRegistry, brokerKind: String,
        engineIDs: [String] = EngineKind.all, metrics: MetricsRuntime = .disabled,
        logLevels: (LogLevelAdministration, token: String?)? = nil, realtime: RealtimeGateway? = nil, records: RecordStore? = nil,
        logger: Logger = Logger(label: "dalston.gateway")
    ) {
        self.configuration = configuration
        self.records = records
        self.realtime = realtime
        var relayOptions = SessionRelay.Options()
        relayOptions.maximumFrameBytes = configuration.realtimeMaximumFrameBytes
        relayOptions.idleTimeout = configuration.realtimeIdleTimeout
        relayOptions.endWait = configuration.realtimeEndWait
        let instruments = metrics.instruments(for: "gateway")
        self.relay = realtime.map {
            SessionRelay(router: $0.router, records: $0.records, options: relayOptions, instruments: instruments, logger: logger)
        }
        self.logLevels = logLevels
        self.uploadSlots = UploadSlots(limit: configuration.maximumConcurrentUploads)
        self.metrics = metrics
        self.instruments = metrics.instruments(for: "gateway")
        instruments.startAtZero(DalstonMetric.gatewayAuthFailures, ["missing", "invalid", "revoked", "expired", "insufficient_scope"].map { [("reason", $0)] })
        instruments.startAtZero(DalstonMetric.gatewayJobsCreated, [[("api", "native")], [("api", "openai")], [("api", "elevenlabs")]])
        instruments.startAtZero(DalstonMetric.gatewayUploadBytes)
        instruments.gauge(DalstonMetric.gatewayUploadsInProgress).record(0)
        instruments.startAtZero(DalstonMetric.gatewayUploadsRejected, UploadRejection.allCases.map { [("reason", $0.rawValue)] })
        for kind in RealtimeProtocol.allCases { instruments.gauge(DalstonMetric.websocketConnections, [("protocol", kind.rawValue)]).record(0) }
        instruments.startAtZero(DalstonMetric.routerSessions, ["completed", "interrupted", "timeout", "error", "no_capacity", "rejected"].map { [("status", $0)] })
        self.jobs = jobs
        self.queues = queues
        self.workers = workers
        self.engineIDs = engineIDs
        self.brokerKind = brokerKind
        self.logger = logger
    }

    /// Every dialect's route collection (see `Dialects/`), each with its error shape and the
    /// access it needs, behind the middleware every request goes through.
    package func makeRouter() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: TracingMiddleware())
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestLogMiddleware(metrics: instruments))
        // What no collection answers (an unmatched path) gets the native shape.
        router.add(middleware: ErrorShapeMiddleware(.native))
        router.addRoutes(probeRoutes())
        router.addRoutes(statusRoutes(), atPath: "/v1")
        router.addRoutes(keyRoutes(), atPath: "/auth")
        logLevels?.0.addRoutes(to: router, token: logLevels?.token)
        router.addRoutes(nativeRoutes(), atPath: "/v1/audio/transcriptions")
        router.addRoutes(openAIRoutes(), atPath: "/v1")
        router.addRoutes(elevenLabsRoutes(), atPath: "/v1/speech-to-text")
        router.addRoutes(webhookRoutes(), atPath: "/v1/webhooks")
        router.addRoutes(realtimeRoutes(), atPath: "/v1/realtime")
        router.addRoutes(webSocketPathRoutes())
        return router
    }

    /// A dialect's collection: errors in its shape, callers checked for `access`.
    func routeCollection(_ dialect: ErrorDialect, access: RouteAccess) -> RouteCollection<GatewayRequestContext> {
        RouteCollection(context: GatewayRequestContext.self)
            .add(middleware: ErrorShapeMiddleware(dialect))
            .add(middleware: AuthenticationMiddleware(access, keys: apiKeys))
    }

    /// The dialects that claim an upload on the shared `POST /v1/audio/transcriptions` by its
    /// fields (OpenAI by its model names); the rest is Dalston's native job API.
    var transcriptionClaims: [TranscriptionClaim] { [openAITranscriptionClaim] }

    func claimingDialect(_ fields: [String: [String]]) -> TranscriptionClaim? {
        transcriptionClaims.first { $0.claims(fields) }
    }

    var apiKeys: APIKeyCheck {
        APIKeyCheck(configuration: configuration, records: records, metrics: instruments)
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
        // still break the limit get a JSON error first.
        let webSocket = WebSocketServerConfiguration(
            maxFrameSize: 4 * configuration.realtimeMaximumFrameBytes, autoPing: .enabled(timePeriod: .seconds(20)))
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

    // MARK: Uploads

    /// Receives a multipart upload within the configured limits, holding one of the upload slots
    /// meanwhile: the audio streams to the artifact store under a new job id while the body
    /// arrives. `upload` keeps what was read even when this throws, so the caller can answer in
    /// the dialect the fields asked for.
    func receiveUpload(
        _ request: Request, into upload: inout ReceivedUpload, fileLimit: @escaping ([String: [String]]) -> Int = { _ in .max }
    ) async throws {
        guard let slot = uploadSlots.take() else {
            logger.warning("upload_refused", metadata: ["reason": "concurrency_limit", "limit": .stringConvertible(configuration.maximumConcurrentUploads)])
            instruments.increment(DalstonMetric.gatewayUploadsRejected, [("reason", UploadRejection.concurrencyLimit.rawValue)])
            throw APIError(.serviceUnavailable, code: "too_many_uploads", message: "the server is receiving \(configuration.maximumConcurrentUploads) uploads already; retry in a few seconds", retryAfter: 5)
        }
        let inProgress = instruments.gauge(DalstonMetric.gatewayUploadsInProgress)
        inProgress.record(uploadSlots.inUse)
        defer {
            slot.release()
            inProgress.record(uploadSlots.inUse)
        }
        let jobID = JobService.newJobID()
        let receiver = UploadReceiver(configuration: configuration, artifacts: jobs.artifacts)
        try await withTracedSpan("gateway.store_audio") { span in
            span.attributes["dalston.job_id"] = jobID
            do {
                // Named by what the bytes are, not what the client called them (`upload`, `blob`).
                try await receiver.receive(request, into: &upload, fileLimit: fileLimit) { _, container in
                    JobService.audioReference(jobID: jobID, filename: "audio.\(container.rawValue)")
                }
            } catch let error as APIError {
                refused(error)
                throw error
            }
            span.attributes["dalston.audio_bytes"] = upload.audio?.writer.byteCount ?? 0
        }
    }

    /// Turns a received upload into a job: `submission` builds the request from the fields (and
    /// throws for fields it cannot honour); then the audio is committed, measured by FFmpeg when
    /// its header did not say how long it is, and submitted. On error the upload is removed.
    func submit(_ upload: ReceivedUpload, api: String, _ submission: (ReceivedUpload.AudioFile) throws -> JobSubmission) async throws -> JobView {
        guard let audio = upload.audio else { throw APIError.badRequest("the file field with the audio is required", param: "file") }
        do {
            var request = try submission(audio)
            try audio.writer.commit()
            if let duration = audio.duration {
                request.audioDurationSeconds = duration
            } else {
                request.audioDurationSeconds = try await measure(audio.writer.reference)
            }
            let job = try await jobs.submit(request)
            instruments.increment(DalstonMetric.gatewayUploadBytes, by: Int64(audio.writer.byteCount))
            instruments.increment(DalstonMetric.gatewayJobsCreated, [("api", api)])
            return job
        } catch {
            audio.writer.discard()
            jobs.artifacts.removeAll(ofJob: audio.writer.reference.jobID)
            if let error = error as? APIError { refused(error) }
            throw error
        }
    }

    /// The duration of audio in a format only FFmpeg reads, refusing what it cannot read or
    /// what is longer than allowed.
    private func measure(_ reference: ArtifactReference) async throws -> Double {
        let seconds: Double
        do {
            seconds = try await FFmpeg.duration(of: try jobs.artifacts.localFile(reference))
        } catch let error as AudioDecodingError {
            throw APIError(.badRequest, code: "unsupported_audio", message: "\(error.description); send \(AudioContainer.supportedNames) audio", param: "file", dialect: nil)
        }
        let limit = configuration.maximumAudioDuration.seconds
        if seconds > limit {
            throw APIError(.contentTooLarge, code: "audio_too_long", message: "the audio is longer than the limit of \(UploadReceiver.formattedDuration(limit))", param: "file", dialect: nil)
        }
        return seconds
    }

    private func refused(_ error: APIError) {
        let reason = UploadRejection(error)
        logger.warning("upload_refused", metadata: ["reason": "\(reason.rawValue)", "error": "\(error.message)"])
        instruments.increment(DalstonMetric.gatewayUploadsRejected, [("reason", reason.rawValue)])
    }

    /// Waits for a job submitted by a synchronous endpoint; nil when it did not finish in time.
    func finished(_ job: JobView) async throws -> JobView? {
        guard let current = try await jobs.waitForFinalState(job.id, timeout: configuration.synchronousTimeout), current.status.isFinal else { return nil }
        return current
    }
}

/// Why an upload was refused, as the `reason` label of `dalston_gateway_uploads_rejected_total`.
enum UploadRejection: String, CaseIterable {
    case concurrencyLimit = "concurrency_limit"
    case tooLarge = "too_large"
    case audioTooLong = "audio_too_long"
    case unsupportedAudio = "unsupported_audio"
    case invalidRequest = "invalid_request"

    init(_ error: APIError) {
        switch error.code {
        case "payload_too_large": self = .tooLarge
        case "audio_too_long": self = .audioTooLong
        case "unsupported_audio": self = .unsupportedAudio
        default: self = .invalidRequest
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
