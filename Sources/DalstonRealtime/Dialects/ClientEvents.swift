import Foundation

/// A message of ElevenLabs' realtime SDK. Fields of the wrong type count as absent, except the
/// audio, which the SDK always sends as a string (`""` with a bare commit): anything else there is
/// the client's mistake to be told about (the SDK's own extra fields, such as `sample_rate`, are
/// ignored).
struct ElevenLabsClientMessage: Decodable {
    /// `audio_base_64` as sent.
    enum Audio: Equatable {
        case absent
        case text(String)
        /// `null`, a number, an object: not base64 text.
        case notText
    }

    let messageType: String?
    let audio: Audio
    let commit: Bool?

    private enum CodingKeys: String, CodingKey {
        case commit
        case messageType = "message_type"
        case audioBase64 = "audio_base_64"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        messageType = try? container.decodeIfPresent(String.self, forKey: .messageType)
        if !container.contains(.audioBase64) {
            audio = .absent
        } else if let text = try? container.decode(String.self, forKey: .audioBase64) {
            audio = .text(text)
        } else {
            audio = .notText
        }
        commit = try? container.decodeIfPresent(Bool.self, forKey: .commit)
    }

    static func parse(_ text: String) -> ElevenLabsClientMessage? {
        try? JSONDecoder().decode(ElevenLabsClientMessage.self, from: Data(text.utf8))
    }
}

/// A client event of OpenAI's realtime transcription API: its type, appended audio, or session
/// settings in any of the forms the SDKs send (flat, under `session`, or the GA form under
/// `session.audio.input`).
struct OpenAIClientEvent: Decodable {
    let type: String
    let audio: String?
    let settings: OpenAISessionSettings

    private enum CodingKeys: String, CodingKey {
        case type, audio, session
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = (try? container.decodeIfPresent(String.self, forKey: .type)) ?? ""
        audio = try? container.decodeIfPresent(String.self, forKey: .audio)
        if container.contains(.session), let nested = try? container.decode(OpenAISessionSettings.self, forKey: .session) {
            settings = nested
        } else {
            settings = try OpenAISessionSettings(from: decoder)
        }
    }

    static func parse(_ text: String) -> OpenAIClientEvent? {
        try? JSONDecoder().decode(OpenAIClientEvent.self, from: Data(text.utf8))
    }
}

/// The settings of a `session.update` / `transcription_session.update`.
struct OpenAISessionSettings: Decodable {
    /// `input_audio_format`: absent, `"pcm16"`, `{"type": "audio/pcm", "rate": 24000}`, or other.
    enum AudioFormat: Equatable {
        case pcm16
        case pcm(rate: Int?)
        case other
    }

    /// `turn_detection`: server VAD with its settings, or `null` (manual commits).
    enum TurnDetection: Equatable {
        case server(threshold: Double?, prefixPaddingMilliseconds: Int?, silenceDurationMilliseconds: Int?)
        case off
    }

    var format: AudioFormat?
    var language: String?
    /// `input_audio_transcription.model` (nil: not mentioned).
    var model: String?
    /// nil: not mentioned (unchanged).
    var turnDetection: TurnDetection?

    private enum CodingKeys: String, CodingKey {
        case audio
        case inputAudioFormat = "input_audio_format"
        case inputAudioTranscription = "input_audio_transcription"
        case turnDetection = "turn_detection"
    }

    private enum AudioKeys: String, CodingKey { case input }
    private enum InputKeys: String, CodingKey {
        case format, transcription
        case turnDetection = "turn_detection"
    }

    private enum FormatKeys: String, CodingKey { case type, rate }
    private enum TranscriptionKeys: String, CodingKey { case language, model }
    private enum DetectionKeys: String, CodingKey {
        case threshold
        case prefixPaddingMilliseconds = "prefix_padding_ms"
        case silenceDurationMilliseconds = "silence_duration_ms"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let audio = try? container.nestedContainer(keyedBy: AudioKeys.self, forKey: .audio),
           let input = try? audio.nestedContainer(keyedBy: InputKeys.self, forKey: .input) {
            // The GA form: what `audio.input` says replaces the flat fields.
            format = Self.format(in: input, forKey: .format)
            language = Self.transcription(.language, in: input, forKey: .transcription)
            model = Self.transcription(.model, in: input, forKey: .transcription)
            turnDetection = input.contains(.turnDetection)
                ? Self.turnDetection(in: input, forKey: .turnDetection)
                : (container.contains(.turnDetection) ? Self.turnDetection(in: container, forKey: .turnDetection) : nil)
        } else {
            format = Self.format(in: container, forKey: .inputAudioFormat)
            language = Self.transcription(.language, in: container, forKey: .inputAudioTranscription)
            model = Self.transcription(.model, in: container, forKey: .inputAudioTranscription)
            turnDetection = container.contains(.turnDetection) ? Self.turnDetection(in: container, forKey: .turnDetection) : nil
        }
    }

    private static func format<Key: CodingKey>(in container: KeyedDecodingContainer<Key>, forKey key: Key) -> AudioFormat? {
        guard container.contains(key), (try? container.decodeNil(forKey: key)) != true else { return nil }
        if let name = try? container.decode(String.self, forKey: key) { return name == "pcm16" ? .pcm16 : .other }
        guard let object = try? container.nestedContainer(keyedBy: FormatKeys.self, forKey: key),
              (try? object.decode(String.self, forKey: .type)) == "audio/pcm" else { return .other }
        return .pcm(rate: try? object.decodeIfPresent(Int.self, forKey: .rate))
    }

    /// A non-empty string field of the transcription settings.
    private static func transcription<Key: CodingKey>(
        _ field: TranscriptionKeys, in container: KeyedDecodingContainer<Key>, forKey key: Key
    ) -> String? {
        guard let transcription = try? container.nestedContainer(keyedBy: TranscriptionKeys.self, forKey: key),
              let value = try? transcription.decodeIfPresent(String.self, forKey: field), !value.isEmpty else { return nil }
        return value
    }

    private static func turnDetection<Key: CodingKey>(in container: KeyedDecodingContainer<Key>, forKey key: Key) -> TurnDetection {
        guard let detection = try? container.nestedContainer(keyedBy: DetectionKeys.self, forKey: key) else { return .off }
        return .server(
            threshold: try? detection.decodeIfPresent(Double.self, forKey: .threshold),
            prefixPaddingMilliseconds: try? detection.decodeIfPresent(Int.self, forKey: .prefixPaddingMilliseconds),
            silenceDurationMilliseconds: try? detection.decodeIfPresent(Int.self, forKey: .silenceDurationMilliseconds))
    }
}
