import DalstonBroker
import DalstonCore
import DalstonModels
import DalstonPipeline
import DalstonRecords
import DalstonSessionRouter
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Dalston's own API: jobs and their lifecycle at `/v1/audio/transcriptions`, and live
/// transcription at `/v1/audio/transcriptions/stream`.
struct NativeAPI: Sendable {
    let configuration: GatewayConfiguration
    let jobs: JobService
    let intake: UploadIntake
    let audit: AuditTrail
    /// What keeps per-job webhooks and retention (nil: those fields are refused).
    let records: RecordStore?
    let guards: RouteGuards
    /// Other dialects' claims on the shared `POST /v1/audio/transcriptions` (OpenAI's models).
    let claims: [TranscriptionClaim]

    /// This dialect's live transcription (served by the session relay).
    static let realtimeEndpoint = RealtimeEndpoint(path: "/v1/audio/transcriptions/stream", kind: .native)

    /// Mounted at `/v1/audio/transcriptions`. A POST whose fields another dialect claims is
    /// answered by that dialect instead (see `TranscriptionClaim`).
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .jobs)
        routes.post { request, context in try await self.createTranscription(request, context) }
        routes.get { request, context in try await self.listTranscriptions(request, context) }
        routes.get("{id}") { _, context in try await self.transcription(context) }
        routes.patch("{id}") { request, context in try await self.renameTranscription(request, context) }
        routes.delete("{id}") { _, context in try await self.deleteTranscription(context) }
        routes.post("{id}/cancel") { _, context in try await self.cancelTranscription(context) }
        routes.get("{id}/export/{format}") { request, context in try await self.exportTranscription(request, context) }
        routes.get("{id}/tasks") { _, context in try await self.tasks(context) }
        routes.get("{id}/audio") { _, context in try await self.audio(context) }
        routes.delete("{id}/audio") { _, context in try await self.deleteAudio(context) }
        return routes
    }

    private func createTranscription(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        var upload = ReceivedUpload()
        do {
            try await intake.receive(request, for: context.caller, into: &upload, urlField: "audio_url") { claimant($0, request.headers)?.uploadLimit ?? .max }
            if let claimant = claimant(upload.fields, request.headers) {
                return try await claimant.transcribe(upload, request, context)
            }
            let job = try await intake.submit(upload, api: "native", for: context.caller) { audio in try await nativeSubmission(upload, audio, context) }
            return try EditedResponse(
                status: .created, headers: [.location: "/v1/audio/transcriptions/\(job.id)"],
                response: JobCreatedResponse(id: job.id, status: job.status.rawValue, createdAt: job.createdAt, displayName: job.displayName)
            ).response(from: request, context: context)
        } catch {
            await upload.audio?.writer.discard()
            throw claimant(upload.fields, request.headers).map { DialectError(error, $0.errorDialect) } ?? error
        }
    }

    /// The dialect whose upload this is, when not Dalston's own.
    private func claimant(_ fields: [String: [String]], _ headers: HTTPFields) -> TranscriptionClaim? {
        claims.first { $0.claims(fields, headers) }
    }

    private func nativeSubmission(_ upload: ReceivedUpload, _ audio: ReceivedUpload.AudioFile, _ context: GatewayRequestContext) async throws -> JobSubmission {
        try FormPolicy.native.validate(upload.fields)
        let modelName = (upload["model"] ?? upload["model_id"])?.trimmed.nonEmpty ?? "auto"
        let language = ModelCatalogue.normalizedLanguage(upload["language"] ?? "")
        let model = try configuration.models.resolve(modelName, api: .dalston, language: language, param: "model")
        let granularity = upload["timestamps_granularity"]?.trimmed ?? "word"
        guard ["word", "segment", "none"].contains(granularity) else {
            throw APIError.badRequest("timestamps_granularity must be word, segment or none", param: "timestamps_granularity")
        }
        var submission = JobSubmission(
            audio: .stored(audio.writer.reference, byteCount: audio.writer.byteCount), filename: audio.filename,
            timestampsGranularity: granularity, requestID: context.requestID)
        submission.use(model, language: language)
        submission.recognizerOptions = try Self.recognizerOptions(upload, model: model)
        // `name` is the original API's field for it.
        submission.displayName = try Self.displayName(upload["display_name"] ?? upload["name"])
        let counts = try SpeakerFields.counts(num: upload["num_speakers"], min: upload["min_speakers"], max: upload["max_speakers"])
        let detection = upload["speaker_detection"]?.trimmed.lowercased()
        // The original's `lite_profile=speaker` is its core pipeline with diarization.
        if detection == SpeakerDetection.perChannel {
            if let named = SpeakerFields.countNames.first(where: { counts[$0] != nil }) {
                throw APIError.badRequest("\(named) is for speaker_detection=diarize; per_channel has one speaker per channel", param: named)
            }
            submission.speakerDetection = SpeakerDetection.perChannel
        } else if detection == SpeakerDetection.diarize || upload["lite_profile"]?.trimmed.lowercased() == "speaker" {
            SpeakerFields.diarize(&submission, counts: counts)
        } else if let named = SpeakerFields.countNames.first(where: { counts[$0] != nil }) {
            throw APIError.badRequest("\(named) needs speaker_detection=diarize", param: named)
        }
        try await applyRecordOptions(upload, to: &submission)
        return submission
    }

    /// `prompt` (Whisper's initial prompt), `hotwords`, `vocabulary` (the original's JSON list
    /// of terms, given to Whisper as hotwords) and `temperature`, for the recogniser. PocketSphinx
    /// takes none of them: asking it is a 400 rather than a hint silently dropped.
    static func recognizerOptions(_ upload: ReceivedUpload, model: ModelInfo) throws -> [String: String] {
        var options: [String: String] = [:]
        if let prompt = (upload["prompt"] ?? upload["initial_prompt"])?.trimmed, !prompt.isEmpty { options["prompt"] = prompt }
        var hotwords = upload["hotwords"]?.trimmed.nonEmpty.map { [$0] } ?? []
        if let text = upload["vocabulary"]?.trimmed, !text.isEmpty, text != "null" {
            guard let terms = try? JSONDecoder().decode([String].self, from: Data(text.utf8)), terms.count <= 100,
                terms.allSatisfy({ !$0.isEmpty && $0.count <= 100 && !$0.contains(where: \.isNewline) })
            else {
                throw APIError.badRequest("vocabulary must be a JSON list of at most 100 terms of 1 to 100 characters", param: "vocabulary")
            }
            hotwords += terms
        }
        if !hotwords.isEmpty { options["hotwords"] = hotwords.joined(separator: " ") }
        options["temperature"] = try RecognizerFields.temperature(upload["temperature"])
        if model.runner != ModelInfo.fasterWhisper, let asked = ["prompt", "hotwords", "temperature"].first(where: { options[$0] != nil }) {
            let field = asked == "hotwords" ? (upload["vocabulary"] != nil ? "vocabulary" : "hotwords") : asked
            throw APIError.unsupported(field, "\(field) is not supported by \(model.id); use a Whisper model (GET /v1/models)")
        }
        return options
    }

    /// `webhook_url`, `webhook_metadata` and `retention`: what the record database keeps for
    /// the job. Without one they are refused rather than ignored.
    private func applyRecordOptions(_ upload: ReceivedUpload, to submission: inout JobSubmission) async throws {
        if let url = upload["webhook_url"]?.trimmed, !url.isEmpty {
            guard records != nil else { throw APIError.unsupported("webhook_url", "per-job webhooks need the record database, which this gateway runs without") }
            guard configuration.perJobWebhooks else {
                throw APIError.unsupported(
                    "webhook_url", "per-job webhook_url needs DALSTON_WEBHOOK_SECRET on the server to sign with; or register an endpoint with POST /v1/webhooks")
            }
            submission.webhookURL = try await WebhooksAPI.webhookURL(text: url, param: "webhook_url", policy: configuration.addressPolicy)
        }
        if let metadata = upload["webhook_metadata"]?.trimmed, !metadata.isEmpty {
            guard metadata.utf8.count <= 16 * 1024, (try? JSONDecoder().decode([String: JSONValue].self, from: Data(metadata.utf8))) != nil else {
                throw APIError.badRequest("webhook_metadata must be a JSON object of at most 16 KB", param: "webhook_metadata")
            }
            submission.webhookMetadata = metadata
        }
        if let text = upload["retention"]?.trimmed, !text.isEmpty {
            guard records != nil else { throw APIError.unsupported("retention", "per-job retention needs the record database, which this gateway runs without") }
            guard let days = Int(text), days == -1 || (0...36_500).contains(days) else {
                throw APIError.badRequest(
                    "retention must be -1 (keep forever), 0 (delete the audio once transcribed) or whole days up to 36500", param: "retention")
            }
            submission.retentionDays = days
        }
    }

    static func displayName(_ text: String?) throws -> String? {
        guard let name = text?.trimmed, !name.isEmpty else { return nil }
        guard name.count <= 256, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.badRequest("display_name must be at most 256 characters without control characters", param: "display_name")
        }
        return name
    }

    private func job(_ context: GatewayRequestContext) async throws -> JobView {
        let id = try context.parameters.require("id")
        guard let job = try await jobs.job(id, visibleTo: context.tenant) else { throw APIError.notFound("no transcription job \(id.prefix(64))") }
        return job
    }

    private func transcription(_ context: GatewayRequestContext) async throws -> JobResponse {
        JobResponse(try await job(context))
    }

    private func listTranscriptions(_ request: Request, _ context: GatewayRequestContext) async throws -> JobListResponse {
        let parameters = request.uri.queryParameters
        var query = JobListQuery(tenantID: context.tenant)
        let limitText = parameters["limit"].map(String.init) ?? "20"
        guard let limit = Int(limitText), (1...100).contains(limit) else { throw APIError.badRequest("limit must be a number from 1 to 100", param: "limit") }
        query.limit = limit
        if let text = parameters["cursor"].map(String.init), !text.isEmpty {
            guard let cursor = JobCursor(encoded: text) else { throw APIError.badRequest("cursor is not one this server issued; start without it", param: "cursor") }
            query.cursor = cursor
        }
        if let text = parameters["status"].map(String.init), !text.isEmpty {
            guard let status = JobStatus(rawValue: text) else {
                throw APIError.badRequest("status must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))", param: "status")
            }
            query.status = status
        }
        if let text = parameters["since"].map(String.init), !text.isEmpty {
            guard let since = Timestamp.date(text) else { throw APIError.badRequest("since must be an ISO-8601 time, e.g. 2026-12-01T00:00:00Z", param: "since") }
            query.since = since
        }
        let page = try await jobs.list(query)
        return JobListResponse(jobs: page.jobs.map(JobResponse.init), cursor: page.next?.encoded, hasMore: page.next != nil)
    }

    private func renameTranscription(_ request: Request, _ context: GatewayRequestContext) async throws -> JobResponse {
        let id = try context.parameters.require("id")
        let body = try await JSONRequestBody.read(request, allowed: ["display_name"], example: #"{"display_name": "Board meeting"}"#)
        guard let name = body["display_name"]?.stringValue, let displayName = try Self.displayName(name) else {
            throw APIError.badRequest("display_name must be a non-empty string", param: "display_name")
        }
        guard try await jobs.record(id, visibleTo: context.tenant) != nil, let job = try await jobs.rename(id, displayName: displayName) else { throw APIError.notFound("no transcription job \(id.prefix(64))") }
        try await audit.record(context, "job.renamed", id, detail: displayName)
        return JobResponse(job)
    }

    private func deleteTranscription(_ context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard try await jobs.record(id, visibleTo: context.tenant) != nil else { throw APIError.notFound("no transcription job \(id.prefix(64))") }
        switch try await jobs.delete(id) {
        case .deleted:
            try await audit.record(context, "job.deleted", id)
            return Response(status: .noContent)
        case .notFound: throw APIError.notFound("no transcription job \(id.prefix(64))")
        case .notFinished(let status):
            throw APIError(.conflict, code: "job_not_finished", message: "job \(id) is \(status.rawValue); cancel it (POST /v1/audio/transcriptions/\(id)/cancel) before deleting it")
        }
    }

    private func cancelTranscription(_ context: GatewayRequestContext) async throws -> EditedResponse<CancelResponse> {
        let id = try context.parameters.require("id")
        guard try await jobs.record(id, visibleTo: context.tenant) != nil, let job = try await jobs.requestCancel(id, requestID: context.requestID) else { throw APIError.notFound("no transcription job \(id.prefix(64))") }
        // The original API's contract, which its SDK checks: 200 with `cancelling` while the
        // orchestrator stops the job (or `cancelled` once it has), 409 for a job that ended otherwise.
        if job.status == .cancelled {
            return EditedResponse(status: .ok, response: CancelResponse(id: id, status: JobStatus.cancelled.rawValue, cancelRequested: true))
        }
        if job.status.isFinal {
            throw APIError(.conflict, code: "conflict", message: "job \(id) is already \(job.status.rawValue) and cannot be cancelled")
        }
        return EditedResponse(status: .ok, response: CancelResponse(id: id, status: "cancelling", cancelRequested: true))
    }

    /// The job's tasks: what ran where, how long each waited and ran, what failed.
    private func tasks(_ context: GatewayRequestContext) async throws -> TaskListResponse {
        let id = try context.parameters.require("id")
        guard let record = try await jobs.record(id, visibleTo: context.tenant) else { throw APIError.notFound("no transcription job \(id.prefix(64))") }
        let graph: JobGraph
        do {
            graph = try JobGraph.plan(for: record)
        } catch {
            throw APIError(.internalServerError, code: "graph_invalid", message: "job \(id)'s graph cannot be built: \(error.description)")
        }
        return TaskListResponse(record, graph: graph)
    }

    /// The job's original upload, streamed from the artifact store while it is kept (a running
    /// job's always; a finished one's with `DALSTON_KEEP_AUDIO=true` and no `retention=0`), or a
    /// redirect to a presigned URL of the object store with `DALSTON_PRESIGNED_DOWNLOADS=true`.
    private func audio(_ context: GatewayRequestContext) async throws -> Response {
        let (record, audio) = try await keptAudio(context)
        if configuration.presignedDownloads, let url = jobs.artifacts.downloadURL(for: audio, lifetime: configuration.presignedURLLifetime) {
            return Response(status: .temporaryRedirect, headers: [.location: url.absoluteString, .cacheControl: "no-store"])
        }
        let filename = record.filename.isEmpty ? audio.name : record.filename
        var headers: HTTPFields = [.contentType: Self.audioContentType(audio.name)]
        headers[.contentDisposition] = "attachment; filename=\"\(filename.filter { $0.isASCII && $0 != "\"" && !$0.isNewline })\""
        return try await ArtifactDownload.response(jobs.artifacts, audio, headers: headers)
    }

    /// Deletes a finished job's audio and working files, keeping its transcript.
    private func deleteAudio(_ context: GatewayRequestContext) async throws -> Response {
        let (record, _) = try await keptAudio(context)
        guard record.status.isFinal else {
            throw APIError(.conflict, code: "job_not_finished", message: "job \(record.id) is \(record.status.rawValue) and still needs its audio; cancel it first")
        }
        let removed = try await jobs.artifacts.removeAll(ofJob: record.id, except: Set([record.result].compactMap { $0 }))
        try await audit.record(context, "job.audio_deleted", record.id, detail: "\(removed) files")
        return Response(status: .noContent)
    }

    private func keptAudio(_ context: GatewayRequestContext) async throws -> (JobRecord, ArtifactReference) {
        let id = try context.parameters.require("id")
        guard let record = try await jobs.record(id, visibleTo: context.tenant) else { throw APIError.notFound("no transcription job \(id.prefix(64))") }
        guard let audio = record.audio, try await jobs.artifacts.exists(audio) else {
            throw APIError(
                .notFound, code: "audio_not_available",
                message: "job \(id)'s audio is no longer kept: it is deleted once transcribed unless DALSTON_KEEP_AUDIO=true (and retention is not 0)")
        }
        return (record, audio)
    }

    static func audioContentType(_ name: String) -> String {
        let types = ["wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4", "mp4": "audio/mp4", "ogg": "audio/ogg", "opus": "audio/ogg",
                     "flac": "audio/flac", "webm": "audio/webm"]
        return types[name.split(separator: ".").last.map { $0.lowercased() } ?? ""] ?? "application/octet-stream"
    }

    private func exportTranscription(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let job = try await job(context)
        return try TranscriptExport.response(job, format: try context.parameters.require("format"), request: request, notReady: .conflict)
    }
}
