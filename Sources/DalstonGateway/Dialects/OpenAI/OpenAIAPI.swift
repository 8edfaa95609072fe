import DalstonPipeline
import DalstonSessionRouter
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// OpenAI's audio API as its SDK calls it: synchronous transcription (on the shared
/// `POST /v1/audio/transcriptions`), translations, the model list, and live transcription at
/// `/v1/realtime`.
struct OpenAIAPI: Sendable {
    let configuration: GatewayConfiguration
    let intake: UploadIntake
    let guards: RouteGuards

    /// This dialect's live transcription (served by the session relay).
    static let realtimeEndpoint = RealtimeEndpoint(path: "/v1/realtime", kind: .openai)
    /// Form fields of OpenAI's transcription request that Dalston's own does not have.
    static let openAIOnlyFields = ["response_format", "timestamp_granularities[]", "timestamp_granularities", "chunking_strategy", "include[]", "stream"]
    /// OpenAI's limit on a transcription upload, kept so that its SDK sees the same.
    static let uploadLimit = 25 * 1024 * 1024

    /// Mounted at `/v1`. Transcription shares `POST /v1/audio/transcriptions` with Dalston's job
    /// API, which hands it the uploads whose model is an OpenAI name (`whisper-1`,
    /// `gpt-4o-transcribe`, ...): see `transcriptionClaim`.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.openAI, access: .jobs)
        routes.post("audio/translations") { request, context in try await self.translate(request, context) }
        routes.get("models") { _, _ in ModelListResponse(configuration.models) }
        routes.get("models/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard let model = ModelListResponse(configuration.models).data.first(where: { $0.id == id }) else {
                throw APIError(.notFound, code: "model_not_found", message: "no model \(id); GET /v1/models lists them", param: "model", dialect: .openAI)
            }
            return model
        }
        return routes
    }

    /// OpenAI's claim on the shared transcription route, with its 25 MB limit: a request naming
    /// an OpenAI model, or sent by OpenAI's SDK (its `User-Agent` is `OpenAI/<language> <version>`)
    /// whatever model it names (an installed one, `faster-whisper-base`), or with a field only
    /// OpenAI's API has.
    var transcriptionClaim: TranscriptionClaim {
        TranscriptionClaim(errorDialect: .openAI, uploadLimit: Self.uploadLimit, claims: { [models = configuration.models] fields, headers in
            if let model = fields["model"]?.first, models.isAlias(model.trimmed, of: .openai) { return true }
            if headers[.userAgent]?.hasPrefix("OpenAI/") == true { return true }
            return Self.openAIOnlyFields.contains { fields[$0] != nil }
        }, transcribe: { upload, request, context in try await self.transcribe(upload, request, context, translating: false) })
    }

    /// `POST /v1/audio/translations`: Whisper's translate task (into English) on a multilingual model.
    private func translate(_ request: Request, _ context: GatewayRequestContext) async throws -> Response {
        var upload = ReceivedUpload()
        do {
            try await intake.receive(request, for: context.caller, into: &upload) { _ in Self.uploadLimit }
            return try await transcribe(upload, request, context, translating: true)
        } catch {
            await upload.audio?.writer.discard()
            throw DialectError(error, .openAI)
        }
    }

    /// OpenAI's synchronous transcription (or translation): the job runs as any other, and the
    /// answer waits for it and comes in the requested `response_format`.
    private func transcribe(_ upload: ReceivedUpload, _ request: Request, _ context: GatewayRequestContext, translating: Bool) async throws -> Response {
        try (translating ? FormPolicy.openAITranslation : FormPolicy.openAI).validate(upload.fields)
        let modelName = upload["model"]?.trimmed ?? ""
        guard !modelName.isEmpty else { throw APIError.badRequest("model is required (whisper-1, or a model of GET /v1/models)", param: "model") }
        let language = translating ? nil : ModelCatalogue.normalizedLanguage(upload["language"] ?? "")
        let model = try configuration.models.resolve(modelName, api: .openai, language: language, translating: translating, param: "model")
        let formatName = upload["response_format"]?.trimmed.nonEmpty ?? "json"
        guard let format = OpenAITranscription.Format(rawValue: formatName) else {
            throw APIError.badRequest("response_format must be one of \(OpenAITranscription.Format.allCases.map(\.rawValue).joined(separator: ", "))", param: "response_format")
        }
        if ModelCatalogue.openAIJSONOrTextOnly.contains(modelName) && format != .json && format != .text {
            throw APIError.badRequest("response_format '\(format.rawValue)' is not compatible with model '\(modelName)'; use json or text", param: "response_format")
        }
        let diarizing = modelName == ModelCatalogue.diarizingOpenAIModel
        if diarizing && ![.json, .text, .diarizedJSON].contains(format) {
            throw APIError.badRequest("response_format '\(format.rawValue)' is not compatible with model '\(modelName)'; use json, text or diarized_json", param: "response_format")
        }
        if format == .diarizedJSON && !diarizing {
            throw APIError.badRequest("response_format diarized_json needs model \(ModelCatalogue.diarizingOpenAIModel)", param: "response_format")
        }
        let granularities = Set(upload.fields["timestamp_granularities[]"] ?? upload.fields["timestamp_granularities"] ?? [])
        if let bad = granularities.first(where: { $0 != "word" && $0 != "segment" }) {
            throw APIError.badRequest("timestamp_granularities may hold word and segment, not \(bad.prefix(32))", param: "timestamp_granularities")
        }
        if !granularities.isEmpty && format != .verboseJSON {
            throw APIError.badRequest("timestamp_granularities needs response_format=verbose_json", param: "timestamp_granularities")
        }
        var options: [String: String] = translating ? ["task": "translate"] : [:]
        options["temperature"] = try RecognizerFields.temperature(upload["temperature"])
        if let prompt = upload["prompt"]?.trimmed, !prompt.isEmpty { options["prompt"] = prompt }
        let limit = Self.uploadLimit
        if let audio = upload.audio, audio.writer.byteCount > limit { throw APIError.tooLarge(limit: limit) }
        let knownSpeakers = try await KnownSpeakerReferences.read(upload, diarizing: diarizing)
        let job = try await intake.submit(upload, api: "openai", for: context.caller) { audio in
            var submission = JobSubmission(
                audio: .stored(audio.writer.reference, byteCount: audio.writer.byteCount), filename: audio.filename,
                timestampsGranularity: "word", requestID: context.requestID)
            submission.use(model, language: language)
            submission.recognizerOptions = options
            if diarizing { SpeakerFields.diarize(&submission, counts: [:]) }
            try await knownSpeakers.store(for: audio.writer.reference.jobID, in: intake.jobs.artifacts, into: &submission)
            return submission
        }
        guard let done = try await intake.finished(job) else {
            throw APIError(.gatewayTimeout, code: "timeout", message: "transcription \(job.id) did not finish within \(Int(configuration.synchronousTimeout.seconds)) s", param: nil, dialect: .openAI)
        }
        guard done.status == .completed, let transcript = done.transcript else {
            // Audio the decoder refused is the client's to fix; anything else is ours.
            let audioRefused = done.failedOnItsAudio
            throw APIError(
                audioRefused ? .badRequest : .internalServerError, code: audioRefused ? "invalid_audio" : "transcription_failed",
                message: done.error ?? "transcription \(done.id) was \(done.status.rawValue)", param: audioRefused ? "file" : nil, dialect: .openAI)
        }
        return OpenAITranscription(format: format, transcript: transcript, granularities: granularities).response
    }
}

/// A finished transcript in one of OpenAI's `response_format`s.
struct OpenAITranscription {
    enum Format: String, CaseIterable {
        case json, text, srt, vtt
        case verboseJSON = "verbose_json"
        case diarizedJSON = "diarized_json"
    }

    let format: Format
    let transcript: Transcript
    /// `verbose_json`'s `timestamp_granularities`: segments by default, words when asked.
    let granularities: Set<String>

    var response: Response {
        var headers = HTTPFields()
        let body: ByteBuffer
        switch format {
        case .json:
            headers[.contentType] = "application/json"
            body = Self.json(OpenAITranscriptionText(text: transcript.text))
        case .verboseJSON:
            headers[.contentType] = "application/json"
            body = Self.json(OpenAIVerboseTranscription(transcript, granularities: granularities))
        case .diarizedJSON:
            headers[.contentType] = "application/json"
            body = Self.json(OpenAIDiarizedTranscription(transcript))
        case .text:
            headers[.contentType] = "text/plain; charset=utf-8"
            body = ByteBuffer(string: transcript.text + "\n")
        case .srt:
            headers[.contentType] = "text/plain; charset=utf-8"
            body = ByteBuffer(string: SubtitleFormatter().srt(transcript))
        case .vtt:
            headers[.contentType] = "text/plain; charset=utf-8"
            body = ByteBuffer(string: SubtitleFormatter().vtt(transcript))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    private static func json(_ value: some Encodable) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return ByteBuffer(bytes: (try? encoder.encode(value)) ?? Data("{}".utf8))
    }
}

/// OpenAI's `Transcription`: the text alone.
struct OpenAITranscriptionText: Codable, Sendable {
    let text: String
}

/// OpenAI's `TranscriptionVerbose`: `{task, language, duration, text, segments?, words?}`.
/// A segment has what the recogniser produced: Whisper gives `avg_logprob`, `compression_ratio`,
/// `no_speech_prob` and `temperature`; PocketSphinx only word confidences, from which
/// `avg_logprob` is estimated, and the rest is left out rather than invented.
struct OpenAIVerboseTranscription: Codable, Sendable {
    struct Segment: Codable, Sendable {
        let id: Int
        let start: Double
        let end: Double
        let text: String
        let avgLogprob: Double?
        let compressionRatio: Double?
        let noSpeechProb: Double?
        let temperature: Double?

        enum CodingKeys: String, CodingKey {
            case id, start, end, text, temperature
            case avgLogprob = "avg_logprob"
            case compressionRatio = "compression_ratio"
            case noSpeechProb = "no_speech_prob"
        }
    }

    struct Word: Codable, Sendable {
        let word: String
        let start: Double
        let end: Double
    }

    let task: String
    let language: String
    let duration: Double
    let text: String
    let segments: [Segment]?
    let words: [Word]?

    /// `granularities`: segments by default, words when asked (both when both are).
    init(_ transcript: Transcript, granularities: Set<String>) {
        task = transcript.task ?? "transcribe"
        language = LanguageNames.name(of: transcript.languageCode)
        duration = transcript.duration
        text = transcript.text
        segments = granularities.isEmpty || granularities.contains("segment")
            ? transcript.segments.map { segment in
                // The model's own figure when it gave one; else the mean log of the words' confidences.
                let confidences = transcript.words(in: segment).compactMap(\.confidence)
                let estimate = confidences.isEmpty ? nil : confidences.map { log(max($0, 1e-6)) }.reduce(0, +) / Double(confidences.count)
                return Segment(
                    id: segment.id, start: segment.start, end: segment.end, text: segment.text, avgLogprob: segment.avgLogprob ?? estimate,
                    compressionRatio: segment.compressionRatio, noSpeechProb: segment.noSpeechProb, temperature: segment.temperature)
            }
            : nil
        words = granularities.contains("word") ? transcript.words.map { Word(word: $0.text, start: $0.start, end: $0.end) } : nil
    }
}
