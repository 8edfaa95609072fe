import Foundation

/// OpenAI's realtime transcription protocol (`/v1/realtime?intent=transcription`): base64 pcm16
/// at 24 kHz in `input_audio_buffer.append`, server VAD or manual commits, and per-item
/// `conversation.item.input_audio_transcription.delta|completed` events, each with an `event_id`.
package struct OpenAIDialect: RealtimeDialect {
    package let name = "openai"
    var model: String
    let sessionID: String
    var language: String
    var vad: VADSettings
    var serverVAD = true
    /// The item the audio being sent now belongs to.
    var currentItem = OpenAIDialect.newID("item")
    var previousItem: String?
    /// Items committed and waiting for their transcript, oldest first.
    var awaitingTranscript: [String] = []
    /// Text already sent as deltas of `currentItem`.
    var deltaSent = ""

    /// OpenAI's model names: each means the deployment's default model.
    package static let models: Set<String> = ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-latest"]
    package static let sampleRate = 24_000

    package static func open(query: [String: String], sessionID: String) throws(InvalidSessionParameter) -> (SessionSettings, OpenAIDialect) {
        if let intent = query["intent"], intent != "transcription" {
            throw InvalidSessionParameter("intent", "must be transcription (Dalston transcribes; it does not hold conversations)")
        }
        let model = query["model"] ?? "gpt-4o-transcribe"
        guard !model.isEmpty else { throw InvalidSessionParameter("model", "must be one of \(models.sorted().joined(separator: ", ")) or an installed model's id") }
        var settings = SessionSettings(sessionID: sessionID)
        // OpenAI's names mean the deployment's default model; another is an installed model's id.
        settings.model = models.contains(model) ? "" : model
        settings.encoding = .pcmS16LE
        settings.sampleRate = sampleRate
        settings.vad.minSilenceMilliseconds = 500
        return (settings, OpenAIDialect(model: model, sessionID: sessionID, language: "auto", vad: settings.vad))
    }

    /// Sent as soon as the connection is accepted, before any audio.
    package func created() -> String {
        Self.event("transcription_session.created", OpenAIEventFields.Session(session: sessionObject()))
    }

    package mutating func clientText(_ text: String) -> DialectOutput {
        guard let event = OpenAIClientEvent.parse(text) else {
            return DialectOutput(toClient: [errorFrame(RealtimeError(code: "invalid_json", message: "the event is not a JSON object", recoverable: true))])
        }
        let type = event.type
        switch type {
        case "input_audio_buffer.append":
            guard let encoded = event.audio, let audio = Data(base64Encoded: encoded) else {
                return DialectOutput(toClient: [errorFrame(RealtimeError(code: "invalid_audio", message: "audio must be base64-encoded pcm16", recoverable: true))])
            }
            return DialectOutput(toWorker: [.audio(Array(audio))])
        case "input_audio_buffer.commit":
            let committed = commitCurrentItem()
            return DialectOutput(toWorker: [.control(.flush)], toClient: [committed])
        case "input_audio_buffer.clear":
            deltaSent = ""
            return DialectOutput(toWorker: [.control(.clear)], toClient: [Self.event("input_audio_buffer.cleared", OpenAIEventFields.None())])
        case "transcription_session.update", "session.update":
            return update(event.settings, reply: type == "session.update" ? "session.updated" : "transcription_session.updated")
        default:
            return DialectOutput(toClient: [errorFrame(RealtimeError(
                code: "unknown_event", message: "unsupported event type \(String(type.prefix(64)))", recoverable: true))])
        }
    }

    /// Applies a session update (in whichever of its forms it came: see `OpenAISessionSettings`).
    private mutating func update(_ session: OpenAISessionSettings, reply: String) -> DialectOutput {
        switch session.format {
        case nil, .pcm16?: break
        case .pcm(let rate)? where (rate ?? Self.sampleRate) == Self.sampleRate: break
        default:
            return DialectOutput(toClient: [errorFrame(RealtimeError(
                code: "unsupported_audio_format", message: "Dalston takes pcm16 at 24 kHz on this endpoint", recoverable: true))])
        }
        var config: [String: String] = [:]
        if let language = session.language {
            self.language = language
            config["language"] = language
        }
        if let model = session.model {
            // OpenAI's names leave the session's model as it is (the default, unless the
            // handshake named another); an installed model's id picks it (the worker switches
            // at the next utterance, or refuses with a recoverable error).
            self.model = model
            if !Self.models.contains(model) { config["model"] = model }
        }
        if let detection = session.turnDetection {
            if case .server(let threshold, let padding, let silence) = detection {
                serverVAD = true
                if let threshold { config["vad_threshold"] = String(threshold) }
                if let padding { config["prefix_padding_ms"] = String(padding) }
                if let silence { config["min_silence_duration_ms"] = String(silence) }
            } else {
                serverVAD = false
            }
            config["enable_vad"] = String(serverVAD)
        }
        // What the session reports back; the worker checks the same values and answers an error.
        var updated = vad
        if (try? updated.update(from: config)) != nil { vad = updated }
        return DialectOutput(toWorker: config.isEmpty ? [] : [.control(.config(config))], toClient: [Self.event(reply, OpenAIEventFields.Session(session: sessionObject()))])
    }

    package mutating func workerEvent(_ realtimeEvent: RealtimeEvent) -> [String] {
        switch realtimeEvent {
        case .speechStart(let timestamp):
            return [Self.event("input_audio_buffer.speech_started", OpenAIEventFields.SpeechStarted(audioStartMilliseconds: Int(timestamp * 1000), itemID: currentItem))]
        case .speechEnd(let timestamp):
            let stopped = Self.event("input_audio_buffer.speech_stopped", OpenAIEventFields.SpeechStopped(audioEndMilliseconds: Int(timestamp * 1000), itemID: currentItem))
            return [stopped, commitCurrentItem()]
        case .partial(let piece):
            // Deltas are increments; a revised guess that does not extend what was sent waits
            // for the completed transcript.
            guard piece.text.hasPrefix(deltaSent), piece.text.count > deltaSent.count else { return [] }
            let delta = String(piece.text.dropFirst(deltaSent.count))
            deltaSent = piece.text
            return [Self.event("conversation.item.input_audio_transcription.delta", OpenAIEventFields.Delta(itemID: currentItem, delta: delta))]
        case .final(let final):
            let item = awaitingTranscript.isEmpty ? currentItem : awaitingTranscript.removeFirst()
            deltaSent = ""
            return [Self.event("conversation.item.input_audio_transcription.completed", OpenAIEventFields.Completed(itemID: item, transcript: final.text))]
        case .error(let error):
            return [errorFrame(error)]
        case .sessionBegin, .sessionEnd:
            return []
        }
    }

    private mutating func commitCurrentItem() -> String {
        let item = currentItem
        let committed = Self.event("input_audio_buffer.committed", OpenAIEventFields.Committed(itemID: item, previousItemID: previousItem))
        awaitingTranscript.append(item)
        if awaitingTranscript.count > 64 { awaitingTranscript.removeFirst() }
        previousItem = item
        currentItem = Self.newID("item")
        return committed
    }

    package static func errorFrame(_ error: RealtimeError) -> String {
        let type = switch error.code {
        case "rate_limit_exceeded": "rate_limit_error"
        case "internal_error", "no_capacity", "worker_lost": "server_error"
        case "unauthorized", "key_revoked", "key_expired": "authentication_error"
        default: "invalid_request_error"
        }
        return Self.event("error", OpenAIEventFields.Failure(error: .init(type: type, code: error.code, message: error.message)))
    }

    private func sessionObject() -> OpenAITranscriptionSession {
        OpenAITranscriptionSession(
            id: sessionID, inputAudioTranscription: .init(model: model, language: language == "auto" ? "" : language),
            turnDetection: serverVAD
                ? .init(threshold: vad.threshold, prefixPaddingMilliseconds: vad.prefixPaddingMilliseconds, silenceDurationMilliseconds: vad.minSilenceMilliseconds)
                : nil)
    }

    private static func event(_ type: String, _ fields: some Encodable & Sendable) -> String {
        JSONFrame.encode(OpenAIServerEvent(type: type, eventID: Self.newID("evt"), fields: fields))
    }

    static func newID(_ prefix: String) -> String {
        "\(prefix)_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))
    }
}
