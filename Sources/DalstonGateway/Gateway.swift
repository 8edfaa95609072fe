import DalstonAudio
import DalstonBroker
import DalstonCore
import DalstonMetrics
import DalstonPipeline
import DalstonPropagation
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// The HTTP API: builds the Hummingbird application from a broker, an artifact store and the
/// gateway configuration.
public struct Gateway: Sendable {
    public let configuration: GatewayConfiguration
    public let jobs: JobService
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

    public init(
        configuration: GatewayConfiguration, jobs: JobService, queues: any TaskQueue, workers: any WorkerRegistry, brokerKind: String,
        engineIDs: [String] = EngineKind.all, metrics: MetricsRuntime = .disabled,
        logger: Logger = Logger(label: "dalston.gateway")
    ) {
        self.configuration = configuration
        self.uploadSlots = UploadSlots(limit: configuration.maximumConcurrentUploads)
        self.metrics = metrics
        self.instruments = metrics.instruments(for: "gateway")
        instruments.startAtZero(DalstonMetric.gatewayAuthFailures, [[("reason", "missing")], [("reason", "invalid")]])
        instruments.startAtZero(DalstonMetric.gatewayJobsCreated, [[("api", "native")], [("api", "elevenlabs")]])
        instruments.startAtZero(DalstonMetric.gatewayUploadBytes)
        instruments.gauge(DalstonMetric.gatewayUploadsInProgress).record(0)
        instruments.startAtZero(DalstonMetric.gatewayUploadsRejected, UploadRejection.allCases.map { [("reason", $0.rawValue)] })
        self.jobs = jobs
        self.queues = queues
        self.workers = workers
        self.engineIDs = engineIDs
        self.brokerKind = brokerKind
        self.logger = logger
    }

    public func makeRouter() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: TracingMiddleware())
        router.add(middleware: RequestIDMiddleware(metrics: instruments))
        router.add(middleware: AuthenticationMiddleware(configuration: configuration, metrics: instruments))
        router.get("/health") { _, _ in HealthResponse(status: "ok") }
        router.get("/ready") { _, _ in await self.readiness() }
        if let exposition = metrics.exposition {
            router.get("/metrics") { _, _ in
                var headers = HTTPFields()
                headers[.contentType] = PrometheusExposition.contentType
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: await exposition.render())))
            }
        }
        router.get("/v1/status") { _, _ in try await self.status() }
        router.post("/v1/audio/transcriptions") { request, context in try await self.createTranscription(request, context) }
        router.get("/v1/audio/transcriptions") { request, _ in try await self.listTranscriptions(request) }
        router.get("/v1/audio/transcriptions/{id}") { _, context in try await self.transcription(context) }
        router.delete("/v1/audio/transcriptions/{id}") { _, context in try await self.cancelTranscription(context) }
        router.post("/v1/speech-to-text") { request, context in try await self.elevenLabsConvert(request, context) }
        router.get("/v1/speech-to-text/transcripts/{id}") { _, context in try await self.elevenLabsTranscript(context) }
        return router
    }

    /// The server, with the limits that keep slow or idle clients from starving it: an idle
    /// timeout (no complete headers, no body progress, or nothing between keep-alive requests),
    /// a deadline for each request body, and a cap on open connections.
    public func makeApplication() -> some ApplicationProtocol {
        let logger = Logger(label: "dalston.gateway.server")
        let bodyTimeout = TimeAmount.nanoseconds(Int64(configuration.bodyTimeout.seconds * 1e9))
        let http = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestBodyDeadlineHandler(timeout: bodyTimeout, logger: logger)],
            idleTimeout: .nanoseconds(Int64(configuration.idleTimeout.seconds * 1e9)))
        return Application(
            router: makeRouter(),
            server: .http1(configuration: http),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "dalston",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maximumConnections, logger: logger)),
            logger: logger)
    }

    // MARK: Native API

    private func createTranscription(_ request: Request, _ context: GatewayRequestContext) async throws -> EditedResponse<JobCreatedResponse> {
        let job = try await submitUpload(request, context, api: "native", languageField: "language")
        return EditedResponse(
            status: .created, headers: [.location: "/v1/audio/transcriptions/\(job.id)"],
            response: JobCreatedResponse(id: job.id, status: job.status.rawValue, createdAt: job.createdAt))
    }

    private func transcription(_ context: GatewayRequestContext) async throws -> JobResponse {
        let id = try context.parameters.require("id")
        guard let job = try await jobs.job(id) else { throw APIError.notFound("no transcription job \(id)") }
        return JobResponse(job)
    }

    private func listTranscriptions(_ request: Request) async throws -> JobListResponse {
        let limitText = request.uri.queryParameters["limit"].map(String.init) ?? "20"
        guard let limit = Int(limitText), (1...100).contains(limit) else { throw APIError.badRequest("limit must be a number from 1 to 100") }
        let views = try await jobs.recentJobs(limit: limit)
        return JobListResponse(jobs: views.map(JobResponse.init), count: views.count)
    }

    private func cancelTranscription(_ context: GatewayRequestContext) async throws -> EditedResponse<CancelResponse> {
        let id = try context.parameters.require("id")
        guard let job = try await jobs.requestCancel(id, requestID: context.requestID) else { throw APIError.notFound("no transcription job \(id)") }
        if job.status.isFinal {
            throw APIError(.conflict, type: "conflict", message: "job \(id) is already \(job.status.rawValue) and cannot be cancelled")
        }
        return EditedResponse(status: .accepted, response: CancelResponse(id: id, status: job.status.rawValue, cancelRequested: true))
    }

    // MARK: ElevenLabs-compatible API

    private func elevenLabsConvert(_ request: Request, _ context: GatewayRequestContext) async throws -> ElevenLabsTranscriptResponse {
        let job = try await submitUpload(request, context, api: "elevenlabs", languageField: "language_code") { fields in
            if fields["cloud_storage_url"] != nil {
                throw APIError.badRequest("cloud_storage_url is not supported; upload the audio as the file field")
            }
            guard let model = fields["model_id"], !model.isEmpty else { throw APIError.badRequest("model_id is required") }
        }
        if let current = try await jobs.waitForFinalState(job.id, timeout: configuration.synchronousTimeout), current.status.isFinal {
            return try Self.elevenLabsResponse(current)
        }
        throw APIError(.gatewayTimeout, type: "timeout", message: "transcription \(job.id) did not finish within \(Int(configuration.synchronousTimeout.seconds)) s; fetch it later from /v1/speech-to-text/transcripts/\(job.id)")
    }

    private func elevenLabsTranscript(_ context: GatewayRequestContext) async throws -> ElevenLabsTranscriptResponse {
        let id = try context.parameters.require("id")
        guard let job = try await jobs.job(id) else { throw APIError.notFound("no transcript \(id)") }
        guard job.status.isFinal else {
            throw APIError(.conflict, type: "not_ready", message: "transcript \(id) is still \(job.status.rawValue)")
        }
        return try Self.elevenLabsResponse(job)
    }

    static func elevenLabsResponse(_ job: JobView) throws -> ElevenLabsTranscriptResponse {
        guard job.status == .completed, let transcript = job.transcript else {
            throw APIError(.unprocessableContent, type: "transcription_failed", message: job.error ?? "transcription \(job.id) was \(job.status.rawValue)")
        }
        return ElevenLabsTranscriptResponse(id: job.id, transcript: transcript)
    }

    // MARK: Status

    /// `/ready`: whether this gateway can take jobs now (the broker answers, the artifact store
    /// takes a write), for load balancers and orchestrators; `/health` stays plain liveness.
    private func readiness() async -> EditedResponse<ReadyResponse> {
        // The probe is public: it says what is down, the log says why (no endpoints, no paths).
        var broker = "ok"
        do {
            _ = try await queues.knownEngines()
        } catch {
            broker = "unavailable"
            logger.warning("readiness_check_failed", metadata: ["component": "broker", "error": .error(error)])
        }
        var storage = "ok"
        let probe = ArtifactReference(jobID: "_readiness", name: "probe")
        do {
            try jobs.artifacts.write(Array("ok".utf8), to: probe)
        } catch {
            storage = error.isOutOfSpace ? "full" : "unavailable"
            logger.warning("readiness_check_failed", metadata: ["component": "storage", "error": .error(error)])
        }
        let ready = broker == "ok" && storage == "ok"
        return EditedResponse(
            status: ready ? .ok : .serviceUnavailable, headers: ready ? [:] : [.retryAfter: "5"],
            response: ReadyResponse(status: ready ? "ready" : "not_ready", broker: broker, storage: storage))
    }

    private func status() async throws -> StatusResponse {
        var queueStats: [String: StatusResponse.Queue] = [:]
        for engine in Set(try await queues.knownEngines()).union(engineIDs).sorted() {
            let stats = try await queues.queueStats(engine: engine)
            queueStats[engine] = .init(waiting: stats.waiting, inFlight: stats.inFlight, deadLettered: stats.deadLettered, oldestAgeSeconds: stats.oldestAge)
        }
        let live = try await workers.liveWorkers()
        var alive: [String: Int] = Dictionary(uniqueKeysWithValues: engineIDs.map { ($0, 0) })
        for worker in live { alive[worker.engineID, default: 0] += 1 }
        return StatusResponse(
            status: "ok", broker: brokerKind, queues: queueStats, workersAlive: alive,
            workers: live.map { .init(workerID: $0.workerID, engineID: $0.engineID, status: $0.status, lastSeen: Timestamp.string($0.lastSeen), metricsEndpoint: $0.metricsEndpoint) })
    }

    // MARK: Uploads

    /// Receives a multipart upload and submits it as a job: the audio streams to the artifact
    /// store under a new job id while the body arrives, within the configured limits.
    private func submitUpload(
        _ request: Request, _ context: GatewayRequestContext, api: String, languageField: String,
        validate: ([String: String]) throws -> Void = { _ in }
    ) async throws -> JobView {
        guard let slot = uploadSlots.take() else {
            logger.warning("upload_refused", metadata: ["reason": "concurrency_limit", "limit": .stringConvertible(configuration.maximumConcurrentUploads)])
            instruments.counter(DalstonMetric.gatewayUploadsRejected, [("reason", UploadRejection.concurrencyLimit.rawValue)]).increment()
            throw APIError(.serviceUnavailable, type: "too_many_uploads", message: "the server is receiving \(configuration.maximumConcurrentUploads) uploads already; retry in a few seconds", retryAfter: 5)
        }
        let inProgress = instruments.gauge(DalstonMetric.gatewayUploadsInProgress)
        inProgress.record(uploadSlots.inUse)
        defer {
            slot.release()
            inProgress.record(uploadSlots.inUse)
        }
        let jobID = JobService.newJobID()
        let receiver = UploadReceiver(configuration: configuration, artifacts: jobs.artifacts)
        let upload = try await withTracedSpan("gateway.store_audio") { span in
            span.attributes["dalston.job_id"] = jobID
            let upload: ReceivedUpload
            do {
                upload = try await receiver.receive(request) { JobService.audioReference(jobID: jobID, filename: $0) }
            } catch let error as APIError {
                let reason = UploadRejection(error)
                logger.warning("upload_refused", metadata: ["reason": "\(reason.rawValue)", "error": "\(error.message)"])
                instruments.counter(DalstonMetric.gatewayUploadsRejected, [("reason", reason.rawValue)]).increment()
                throw error
            }
            span.attributes["dalston.audio_bytes"] = upload.audio?.writer.byteCount ?? 0
            return upload
        }
        do {
            try validate(upload.fields)
            guard let audio = upload.audio else { throw APIError.badRequest("the file field with the audio is required") }
            let submission = try makeSubmission(upload.fields, audio: audio, context: context, languageField: languageField)
            try audio.writer.commit()
            let job = try await jobs.submit(submission)
            instruments.counter(DalstonMetric.gatewayUploadBytes).increment(by: audio.writer.byteCount)
            instruments.counter(DalstonMetric.gatewayJobsCreated, [("api", api)]).increment()
            return job
        } catch {
            upload.audio?.writer.discard()
            throw error
        }
    }

    private func makeSubmission(
        _ fields: [String: String], audio: ReceivedUpload.AudioFile, context: GatewayRequestContext, languageField: String
    ) throws -> JobSubmission {
        let language = fields[languageField]?.trimmed.lowercased() ?? ""
        if !language.isEmpty && !(language.hasPrefix("en") || language == "auto") {
            throw APIError.badRequest("language \(language) is not supported; this deployment transcribes English (en)")
        }
        let granularity = fields["timestamps_granularity"]?.trimmed ?? "word"
        guard ["word", "segment", "none"].contains(granularity) else {
            throw APIError.badRequest("timestamps_granularity must be word, segment or none")
        }
        return JobSubmission(
            audio: .stored(audio.writer.reference, byteCount: audio.writer.byteCount), filename: audio.filename, language: language.isEmpty || language == "auto" ? "en" : language,
            modelID: fields["model_id"]?.trimmed.nonEmpty ?? "pocketsphinx-en-us", timestampsGranularity: granularity,
            requestID: context.requestID)
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
        switch error.type {
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
