import Foundation

/// ElevenLabs' realtime speech-to-text protocol (`/v1/speech-to-text/realtime`), as its
/// official SDK speaks it: base64 audio in `input_audio_chunk` messages, `commit` for a final of
/// the audio so far, transcripts as `partial_transcript` / `committed_transcript[_with_timestamps]`.
package struct ElevenLabsDialect: RealtimeDialect {
    package let name = "elevenlabs"
    let modelID: String
    let audioFormat: String
    let commitStrategy: String
    let includeTimestamps: Bool
    var language: String

    /// ElevenLabs' model names: each means the deployment's default model.
    package static let models: Set<String> = ["scribe_v1", "scribe_v2", "scribe_v2_realtime"]
    package static let audioFormats: [String: (AudioEncoding, Int)] = [
        "pcm_8000": (.pcmS16LE, 8000), "pcm_16000": (.pcmS16LE, 16000), "pcm_22050": (.pcmS16LE, 22050), "pcm_24000": (.pcmS16LE, 24000),
        "pcm_44100": (.pcmS16LE, 44100), "pcm_48000": (.pcmS16LE, 48000), "ulaw_8000": (.mulaw, 8000),
    ]

    /// Reads the handshake query; names the SDK may send that Dalston has no use for
    /// (`keyterms`, `previous_text`, ...) are accepted and ignored.
    package static func open(query: [String: String], sessionID: String) throws(InvalidSessionParameter) -> (SessionSettings, ElevenLabsDialect) {
        let model = query["model_id"] ?? "scribe_v1"
        guard !model.isEmpty else { throw InvalidSessionParameter("model_id", "must be one of \(models.sorted().joined(separator: ", ")) or an installed model's id") }
        let format = query["audio_format"] ?? "pcm_16000"
        guard let (encoding, rate) = audioFormats[format] else {
            throw InvalidSessionParameter("audio_format", "must be one of \(audioFormats.keys.sorted().joined(separator: ", "))")
        }
        let strategy = query["commit_strategy"] ?? "manual"
        guard strategy == "manual" || strategy == "vad" else { throw InvalidSessionParameter("commit_strategy", "must be manual or vad") }
        var worker: [String: String] = [
            "session_id": sessionID, "encoding": encoding.rawValue, "sample_rate": String(rate), "enable_vad": String(strategy == "vad"),
            "interim_results": "true", "word_timestamps": query["include_timestamps"] ?? "false", "language": query["language_code"] ?? "auto",
            // ElevenLabs' own names mean the deployment's default; another is an installed model's id.
            "model": models.contains(model) ? "" : model,
        ]
        for name in ["vad_threshold", "min_speech_duration_ms", "min_silence_duration_ms", "prefix_padding_ms"] { worker[name] = query[name] }
        if let seconds = query["vad_silence_threshold_secs"] {
            guard let value = Double(seconds), value.isFinite, value > 0 else {
                throw InvalidSessionParameter("vad_silence_threshold_secs", "must be a positive number of seconds")
            }
            worker["min_silence_duration_ms"] = String(Int((value * 1000).rounded()))
        }
        let settings = try SessionSettings(query: worker, sessionID: sessionID)
        let dialect = ElevenLabsDialect(
            modelID: model, audioFormat: format, commitStrategy: strategy, includeTimestamps: settings.wordTimestamps, language: settings.language)
        return (settings, dialect)
    }

    package mutating func clientText(_ text: String) -> DialectOutput {
        guard let message = ElevenLabsClientMessage.parse(text) else {
            return DialectOutput(toClient: [errorFrame(.invalidMessage("the message is not a JSON object"))])
        }
        switch message.messageType {
        case "input_audio_chunk":
            var output = DialectOutput()
            guard case .text(let encoded) = message.audio else {
                let problem = message.audio == .absent ? "has no audio_base_64" : "has an audio_base_64 that is not a string"
                return DialectOutput(toClient: [errorFrame(RealtimeError(
                    code: "invalid_audio", message: "input_audio_chunk \(problem); send base64 audio as a string (\"\" with a bare commit)", recoverable: true))])
            }
            if !encoded.isEmpty {
                guard let audio = Data(base64Encoded: encoded) else {
                    return DialectOutput(toClient: [errorFrame(RealtimeError(code: "invalid_audio", message: "audio_base_64 is not valid base64", recoverable: true))])
                }
                output.toWorker.append(.audio(Array(audio)))
            }
            // A commit asks for the final of everything sent so far.
            if message.commit == true { output.toWorker.append(.control(.flush)) }
            return output
        case "close_stream", "close_connection":
            return DialectOutput(toWorker: [.control(.end)])
        case let other:
            return DialectOutput(toClient: [errorFrame(.invalidMessage("unknown message_type \(other.map { String($0.prefix(64)) } ?? "(none)")"))])
        }
    }

    package mutating func workerEvent(_ event: RealtimeEvent) -> [String] {
        switch event {
        case .sessionBegin(let sessionID, let config):
            return [JSONFrame.encode(ElevenLabsFrame.SessionStarted(sessionID: sessionID, config: .init(
                sampleRate: config.sampleRate, audioFormat: audioFormat, languageCode: language, modelID: modelID,
                commitStrategy: commitStrategy, includeTimestamps: includeTimestamps)))]
        case .partial(let piece):
            return [JSONFrame.encode(ElevenLabsFrame.Transcript(messageType: "partial_transcript", text: piece.text))]
        case .final(let final):
            guard includeTimestamps, let words = final.words, !words.isEmpty else {
                return [JSONFrame.encode(ElevenLabsFrame.Transcript(messageType: "committed_transcript", text: final.text))]
            }
            var items: [ElevenLabsFrame.TranscriptWithTimestamps.Item] = []
            for (index, word) in words.enumerated() {
                if index > 0 {
                    items.append(.init(text: " ", start: words[index - 1].end, end: word.start, type: "spacing", logprob: nil))
                }
                items.append(.init(text: word.word, start: word.start, end: word.end, type: "word", logprob: log(max(word.confidence, 1e-6))))
            }
            return [JSONFrame.encode(ElevenLabsFrame.TranscriptWithTimestamps(
                text: final.text, languageCode: final.language ?? (language == "auto" ? "en" : language), words: items))]
        case .error(let error):
            return [errorFrame(error)]
        case .speechStart, .speechEnd, .sessionEnd:
            return []
        }
    }

    /// Errors in the SDK's vocabulary of message types, the text under `error`.
    package static func errorFrame(_ error: RealtimeError) -> String {
        let type = switch error.code {
        case "invalid_message", "invalid_audio", "invalid_parameters", "model_not_available", "language_not_supported": "input_error"
        case "rate_limit_exceeded": "rate_limited"
        case "no_capacity": "resource_exhausted"
        case "session_timeout": "session_time_limit_exceeded"
        case "unauthorized", "key_revoked", "key_expired": "auth_error"
        default: "transcriber_error"
        }
        return JSONFrame.encode(ElevenLabsFrame.Error(messageType: type, error: error.message, code: error.code))
    }
}
