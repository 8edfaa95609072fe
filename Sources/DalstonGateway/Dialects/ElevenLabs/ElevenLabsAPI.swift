import DalstonModels
import DalstonBroker
import DalstonPipeline
import DalstonSessionRouter
import Foundation
import HTTPTypes
import Hummingbird

/// ElevenLabs' speech-to-text API as its SDK calls it: conversion (synchronous, or acknowledged
/// for a webhook), transcripts, their exports, and live transcription.
struct ElevenLabsAPI: Sendable {
    let configuration: GatewayConfiguration
    let jobs: JobService
    let intake: UploadIntake
    let audit: AuditTrail
    let guards: RouteGuards

    /// This dialect's live transcription (served by the session relay).
    static let realtimeEndpoint = RealtimeEndpoint(path: "/v1/speech-to-text/realtime", kind: .elevenlabs)

    /// Mounted at `/v1/speech-to-text`.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.elevenLabs, access: .jobs)
        routes.post { request, context in try await self.elevenLabsConvert(request, context) }
        routes.get("transcripts/{id}") { _, context in try await self.elevenLabsTranscript(context) }
        routes.delete("transcripts/{id}") { _, context in try await self.elevenLabsDelete(context) }
        routes.get("transcripts/{id}/export/{format}") { request, context in try await self.elevenLabsExport(request, context) }
        return routes
    }

    private func elevenLabsConvert(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        var upload = ReceivedUpload()
        do {
            try await intake.receive(request, for: context.caller, into: &upload, urlField: "cloud_storage_url")
            try FormPolicy.elevenLabs.validate(upload.fields)
            let options = try ElevenLabsOptions(upload, models: configuration.models)
            let job = try await intake.submit(upload, api: "elevenlabs", for: context.caller, perChannel: ("use_multi_channel", ElevenLabsOptions.mostChannels)) { audio in
                var submission = JobSubmission(
                    audio: .stored(audio.writer.reference, byteCount: audio.writer.byteCount), filename: audio.filename,
                    timestampsGranularity: options.granularity, requestID: context.requestID)
                submission.use(options.model, language: options.language)
                submission.recognizerOptions = options.recognizerOptions
                if options.diarize { SpeakerFields.diarize(&submission, counts: options.speakerCounts) }
                if let style = options.multichannelStyle {
                    submission.speakerDetection = SpeakerDetection.perChannel
                    submission.channelOutput = style
                }
                return submission
            }
            if options.webhook {
                // Acknowledged at once; the transcript is fetched with GET .../transcripts/{id}.
                return try ElevenLabsWebhookAcknowledgement(requestID: context.requestID, transcriptionID: job.id).response(from: request, context: context)
            }
            guard let done = try await intake.finished(job) else {
                throw APIError(.requestTimeout, code: "timeout", message: "transcription \(job.id) did not finish within \(Int(configuration.synchronousTimeout.seconds)) s; fetch it later from /v1/speech-to-text/transcripts/\(job.id)")
            }
            return try Self.transcriptResponse(done, formats: options.additionalFormats).response(from: request, context: context)
        } catch {
            await upload.audio?.writer.discard()
            throw DialectError(error, .elevenLabs)
        }
    }

    private func elevenLabsTranscript(_ context: GatewayRequestContext) async throws -> ElevenLabsTranscriptResult {
        let id = try context.parameters.require("id")
        guard let job = try await jobs.job(id, visibleTo: context.tenant) else { throw APIError.notFound("no transcript \(id.prefix(64))") }
        guard job.status.isFinal else {
            // As ElevenLabs: not there yet, ask again shortly.
            throw APIError(.notFound, code: "not_ready", message: "transcript \(id) is still \(job.status.rawValue)", retryAfter: 2)
        }
        return try Self.transcriptResponse(job, formats: [])
    }

    private func elevenLabsDelete(_ context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard try await jobs.record(id, visibleTo: context.tenant) != nil else { throw APIError.notFound("no transcript \(id.prefix(64))") }
        switch try await jobs.delete(id) {
        case .deleted:
            try await audit.record(context, "job.deleted", id)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        case .notFound: throw APIError.notFound("no transcript \(id.prefix(64))")
        case .notFinished(let status): throw APIError(.conflict, code: "job_not_finished", message: "transcript \(id) is still \(status.rawValue)")
        }
    }

    private func elevenLabsExport(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let job = try await jobs.job(id, visibleTo: context.tenant) else { throw APIError.notFound("no transcript \(id.prefix(64))") }
        // As ElevenLabs: a transcript not there yet is not found (yet).
        return try TranscriptExport.response(job, format: try context.parameters.require("format"), request: request, notReady: .notFound)
    }

    static func transcriptResponse(_ job: JobView, formats: [ElevenLabsOptions.AdditionalFormat]) throws -> ElevenLabsTranscriptResult {
        guard job.status == .completed, let transcript = job.transcript else {
            throw APIError(.unprocessableContent, code: "transcription_failed", message: job.error ?? "transcription \(job.id) was \(job.status.rawValue)")
        }
        return ElevenLabsTranscriptResult(job, transcript: transcript, formats: formats)
    }
}

/// The options of an ElevenLabs convert request, checked.
struct ElevenLabsOptions {
    /// One of `additional_formats`: `{"format": "srt" | "txt", ...}` (ElevenLabs' options beyond
    /// the line limits are refused by name).
    struct AdditionalFormat {
        let format: TranscriptExport.Format
        let requested: String
        let formatter: SubtitleFormatter

        func render(_ transcript: Transcript, id: String) -> ElevenLabsTranscriptResponse.AdditionalFormat {
            let export = TranscriptExport(format: format, transcript: transcript, formatter: formatter, filename: id)
            return .init(requestedFormat: requested, fileExtension: export.fileExtension, contentType: export.contentType, content: export.body)
        }
    }

    let model: ModelInfo
    /// `temperature` for the recogniser (ElevenLabs' range, 0 to 2, kept as Whisper's 0 to 1).
    var recognizerOptions: [String: String] = [:]
    let language: String?
    let granularity: String
    let webhook: Bool
    let additionalFormats: [AdditionalFormat]
    /// `diarize=true`: who spoke when, with `num_speakers` (at most 32) when given.
    let diarize: Bool
    let speakerCounts: [String: Int]
    /// `use_multi_channel=true`: each channel transcribed as one speaker, returned per channel
    /// (`separate`, ElevenLabs' default) or merged in time order (`combined`); nil when not asked.
    let multichannelStyle: String?
    /// ElevenLabs' limit of channels.
    static let mostChannels = 5
    static let separateChannels = "separate"
    static let combinedChannels = "combined"

    init(_ upload: ReceivedUpload, models: ModelCatalogue) throws {
        let modelName = upload["model_id"]?.trimmed.nonEmpty ?? "scribe_v1"
        language = ModelCatalogue.normalizedLanguage(upload["language_code"] ?? "")
        model = try models.resolve(modelName, api: .elevenlabs, language: language, param: "model_id", languageParam: "language_code")
        // ElevenLabs' `character` granularity falls back to words, as Dalston's original did.
        let granularity = upload["timestamps_granularity"]?.trimmed.nonEmpty ?? "word"
        guard ["none", "word", "character"].contains(granularity) else {
            throw APIError.badRequest("timestamps_granularity must be none, word or character", param: "timestamps_granularity")
        }
        self.granularity = granularity == "character" ? "word" : granularity
        switch upload["webhook"]?.trimmed.lowercased() ?? "false" {
        case "true", "1": webhook = true
        case "false", "0", "": webhook = false
        default: throw APIError.badRequest("webhook must be true or false", param: "webhook")
        }
        if let text = upload["temperature"]?.trimmed, !text.isEmpty, text != "null" {
            guard let value = Double(text), (0...2).contains(value) else { throw APIError.badRequest("temperature must be a number from 0 to 2", param: "temperature") }
            if value > 0 { recognizerOptions["temperature"] = String(min(1, value / 2)) }
        }
        if let text = upload["seed"]?.trimmed, !text.isEmpty, text != "null" {
            guard let value = Int(text), (0...2_147_483_647).contains(value) else { throw APIError.badRequest("seed must be a whole number from 0 to 2147483647", param: "seed") }
        }
        additionalFormats = try Self.additionalFormats(upload["additional_formats"])
        switch upload["diarize"]?.trimmed.lowercased() ?? "false" {
        case "true", "1": diarize = true
        case "false", "0", "": diarize = false
        default: throw APIError.badRequest("diarize must be true or false", param: "diarize")
        }
        speakerCounts = try SpeakerFields.counts(num: upload["num_speakers"], min: nil, max: nil)
        if !diarize && !speakerCounts.isEmpty { throw APIError.badRequest("num_speakers needs diarize=true", param: "num_speakers") }
        let multichannel: Bool
        switch upload["use_multi_channel"]?.trimmed.lowercased() ?? "false" {
        case "true", "1": multichannel = true
        case "false", "0", "", "null": multichannel = false
        default: throw APIError.badRequest("use_multi_channel must be true or false", param: "use_multi_channel")
        }
        // The SDK sends `null` for an option it was not given.
        let style = upload["multichannel_output_style"]?.trimmed.lowercased().nonEmpty.flatMap { $0 == "null" ? nil : $0 }
        if let style, ![Self.separateChannels, Self.combinedChannels].contains(style) {
            throw APIError.badRequest("multichannel_output_style must be separate or combined", param: "multichannel_output_style")
        }
        if multichannel && diarize {
            throw APIError.badRequest("diarize cannot be combined with use_multi_channel: each channel is already one speaker", param: "diarize")
        }
        if !multichannel && style != nil {
            throw APIError.badRequest("multichannel_output_style needs use_multi_channel=true", param: "multichannel_output_style")
        }
        multichannelStyle = multichannel ? style ?? Self.separateChannels : nil
    }

    private static func additionalFormats(_ text: String?) throws -> [AdditionalFormat] {
        guard let text = text?.trimmed, !text.isEmpty, text != "null" else { return [] }
        guard let list = try? JSONDecoder().decode([[String: JSONValue]].self, from: Data(text.utf8)) else {
            throw APIError.badRequest("additional_formats must be a JSON list of objects like {\"format\": \"srt\"}", param: "additional_formats")
        }
        return try list.map { entry in
            let name = entry["format"]?.stringValue ?? ""
            guard let format = ["srt": TranscriptExport.Format.srt, "txt": .txt][name] else {
                throw APIError.unsupported("additional_formats", "additional format \"\(name.prefix(32))\" is not available; srt and txt are")
            }
            var formatter = SubtitleFormatter()
            for (key, value) in entry where key != "format" {
                switch (key, value) {
                case ("max_characters_per_line", .number(let number)) where number.rounded() == number && (10...200).contains(number):
                    formatter.maximumLineLength = Int(number)
                case ("max_segment_chars", _), ("include_speakers", _), ("include_timestamps", _), ("max_segment_duration_s", _), ("segment_on_silence_longer_than_s", _):
                    break  // accepted at ElevenLabs' defaults, which these exports follow
                default:
                    throw APIError.unsupported("additional_formats", "option \"\(key.prefix(32))\" of the \(name) format is not supported")
                }
            }
            return AdditionalFormat(format: format, requested: name, formatter: formatter)
        }
    }
}
