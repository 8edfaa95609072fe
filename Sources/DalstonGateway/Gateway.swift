import DalstonAudio
import DalstonBroker
import DalstonCore
import DalstonMetrics
import DalstonPipeline
import Foundation
import HTTPTypes
import Hummingbird
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

    public init(
        configuration: GatewayConfiguration, jobs: JobService, queues: any TaskQueue, workers: any WorkerRegistry, brokerKind: String,
        engineIDs: [String] = EngineKind.all, metrics: MetricsRuntime = .disabled,
        logger: Logger = Logger(label: "dalston.gateway")
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.instruments = metrics.instruments(for: "gateway")
        instruments.startAtZero(DalstonMetric.gatewayAuthFailures, [[("reason", "missing")], [("reason", "invalid")]])
        instruments.startAtZero(DalstonMetric.gatewayJobsCreated, [[("api", "native")], [("api", "elevenlabs")]])
        instruments.startAtZero(DalstonMetric.gatewayUploadBytes)
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
        router.get("/health") { _, _ in Self.json(["status": "ok"]) }
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

    public func makeApplication() -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "dalston"),
            logger: Logger(label: "dalston.gateway.server"))
    }

    private func submit(_ submission: JobSubmission, api: String) async throws -> JobView {
        let job = try await jobs.submit(submission)
        instruments.counter(DalstonMetric.gatewayUploadBytes).increment(by: submission.audio.count)
        instruments.counter(DalstonMetric.gatewayJobsCreated, [("api", api)]).increment()
        return job
    }

    // MARK: Native API

    private func createTranscription(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let form = try await readForm(request)
        let submission = try makeSubmission(form, context: context, languageField: "language")
        let job = try await submit(submission, api: "native")
        var response = Self.json(["id": job.id, "status": job.status.rawValue, "created_at": job.createdAt], status: .created)
        response.headers[.location] = "/v1/audio/transcriptions/\(job.id)"
        return response
    }

    private func transcription(_ context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let job = try await jobs.job(id) else { throw APIError.notFound("no transcription job \(id)") }
        return Self.json(Self.nativeView(job))
    }

    private func listTranscriptions(_ request: Request) async throws -> Response {
        let limitText = request.uri.queryParameters["limit"].map(String.init) ?? "20"
        guard let limit = Int(limitText), (1...100).contains(limit) else { throw APIError.badRequest("limit must be a number from 1 to 100") }
        let views = try await jobs.recentJobs(limit: limit)
        return Self.json(["jobs": views.map(Self.nativeView), "count": views.count])
    }

    private func cancelTranscription(_ context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let job = try await jobs.requestCancel(id, requestID: context.requestID) else { throw APIError.notFound("no transcription job \(id)") }
        if job.status.isFinal {
            throw APIError(.conflict, type: "conflict", message: "job \(id) is already \(job.status.rawValue) and cannot be cancelled")
        }
        return Self.json(["id": id, "status": job.status.rawValue, "cancel_requested": true], status: .accepted)
    }

    /// A job as the native API shows it (also what `dalston transcribe --json` prints).
    public static func nativeView(_ job: JobView) -> [String: Any] {
        var view: [String: Any] = [
            "id": job.id, "status": job.status.rawValue, "created_at": job.createdAt, "progress": job.progress,
            "model_id": job.modelID, "language_code": job.language, "request_id": job.requestID,
        ]
        if let stage = job.currentStage { view["current_stage"] = stage }
        if let completed = job.completedAt { view["completed_at"] = completed }
        if let error = job.error { view["error"] = ["type": "processing_failed", "message": error] }
        if let seconds = job.processingTimeSeconds { view["processing_time_seconds"] = seconds }
        if let transcript = job.transcript {
            view["text"] = transcript.text
            view["duration"] = transcript.duration
            view["language_code"] = transcript.languageCode
            view["segments"] = transcript.segments.map { ["id": $0.id, "start": $0.start, "end": $0.end, "text": $0.text] as [String: Any] }
            view["words"] = transcript.words.map { word -> [String: Any] in
                var item: [String: Any] = ["text": word.text, "start": word.start, "end": word.end]
                if let confidence = word.confidence { item["confidence"] = confidence }
                return item
            }
        }
        return view
    }

    // MARK: ElevenLabs-compatible API

    private func elevenLabsConvert(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let form = try await readForm(request)
        if form["cloud_storage_url"] != nil && form["file"] == nil {
            throw APIError.badRequest("cloud_storage_url is not supported; upload the audio as the file field")
        }
        guard let model = form["model_id"]?.text, !model.isEmpty else { throw APIError.badRequest("model_id is required") }
        var submission = try makeSubmission(form, context: context, languageField: "language_code")
        submission.modelID = model
        let job = try await submit(submission, api: "elevenlabs")
        if let current = try await jobs.waitForFinalState(job.id, timeout: configuration.synchronousTimeout), current.status.isFinal {
            return try Self.elevenLabsResponse(current)
        }
        throw APIError(.gatewayTimeout, type: "timeout", message: "transcription \(job.id) did not finish within \(Int(configuration.synchronousTimeout.components.seconds)) s; fetch it later from /v1/speech-to-text/transcripts/\(job.id)")
    }

    private func elevenLabsTranscript(_ context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let job = try await jobs.job(id) else { throw APIError.notFound("no transcript \(id)") }
        guard job.status.isFinal else {
            throw APIError(.conflict, type: "not_ready", message: "transcript \(id) is still \(job.status.rawValue)")
        }
        return try Self.elevenLabsResponse(job)
    }

    /// `{language_code, language_probability, text, words: [{text, start, end, type, logprob}], transcription_id}`,
    /// with `spacing` entries between words as ElevenLabs returns them.
    static func elevenLabsResponse(_ job: JobView) throws -> Response {
        guard job.status == .completed, let transcript = job.transcript else {
            throw APIError(.unprocessableContent, type: "transcription_failed", message: job.error ?? "transcription \(job.id) was \(job.status.rawValue)")
        }
        var words: [[String: Any]] = []
        for (index, word) in transcript.words.enumerated() {
            if index > 0 {
                let previous = transcript.words[index - 1]
                words.append(["text": " ", "start": previous.end, "end": word.start, "type": "spacing", "logprob": 0.0])
            }
            words.append(["text": word.text, "start": word.start, "end": word.end, "type": "word", "logprob": log(max(word.confidence ?? 1, 1e-6))])
        }
        return json([
            "language_code": transcript.languageCode, "language_probability": 1.0, "text": transcript.text,
            "words": words, "transcription_id": job.id,
        ])
    }

    // MARK: Status

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
            workers: live.map { .init(workerID: $0.workerID, engineID: $0.engineID, status: $0.status, lastSeen: Timestamp.string($0.lastSeen)) })
    }

    // MARK: Uploads

    private func readForm(_ request: Request) async throws -> [String: MultipartPart] {
        guard let boundary = MultipartForm.boundary(fromContentType: request.headers[.contentType]) else {
            throw APIError.badRequest("send the audio as multipart/form-data with a file field")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maximumUploadBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.tooLarge(limit: configuration.maximumUploadBytes)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(limit: configuration.maximumUploadBytes)
        }
        do {
            let parts = try MultipartForm.parse(Array(body.readableBytesView), boundary: boundary)
            return Dictionary(parts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        } catch {
            throw APIError.badRequest("malformed multipart body: \(error)")
        }
    }

    private func makeSubmission(_ form: [String: MultipartPart], context: GatewayRequestContext, languageField: String) throws -> JobSubmission {
        guard let file = form["file"], !file.body.isEmpty else { throw APIError.badRequest("the file field with the audio is required") }
        do {
            _ = try WAVDecoder.decode(file.body)
        } catch {
            throw APIError(.badRequest, type: "unsupported_audio", message: "\(error.description); send a WAV file (PCM 8/16/24/32-bit or 32-bit float)")
        }
        let language = form[languageField]?.text.trimmed.lowercased() ?? ""
        if !language.isEmpty && !(language.hasPrefix("en") || language == "auto") {
            throw APIError.badRequest("language \(language) is not supported; this deployment transcribes English (en)")
        }
        let granularity = form["timestamps_granularity"]?.text.trimmed ?? "word"
        guard ["word", "segment", "none"].contains(granularity) else {
            throw APIError.badRequest("timestamps_granularity must be word, segment or none")
        }
        return JobSubmission(
            audio: file.body, filename: file.filename ?? "audio.wav", language: language.isEmpty || language == "auto" ? "en" : language,
            modelID: form["model_id"]?.text.trimmed.nonEmpty ?? "pocketsphinx-en-us", timestampsGranularity: granularity,
            requestID: context.requestID)
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        // Unsorted: sorting compares keys through ICU collation, half the CPU of a small response.
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
