import Foundation

/// What OpenAI's realtime transcription endpoint sends, as its SDKs parse it: every event has
/// `type` and `event_id` beside its own fields.
struct OpenAIServerEvent<Fields: Encodable & Sendable>: Encodable, Sendable {
    let type: String
    let eventID: String
    let fields: Fields

    private enum Key: String, CodingKey {
        case type
        case eventID = "event_id"
    }

    func encode(to encoder: any Encoder) throws {
        // The event's fields and its envelope share one JSON object.
        try fields.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(type, forKey: .type)
        try container.encode(eventID, forKey: .eventID)
    }
}

enum OpenAIEventFields {
    struct None: Encodable, Sendable {}

    struct Session: Encodable, Sendable {
        let session: OpenAITranscriptionSession
    }

    struct SpeechStarted: Encodable, Sendable {
        let audioStartMilliseconds: Int
        let itemID: String

        enum CodingKeys: String, CodingKey {
            case audioStartMilliseconds = "audio_start_ms"
            case itemID = "item_id"
        }
    }

    struct SpeechStopped: Encodable, Sendable {
        let audioEndMilliseconds: Int
        let itemID: String

        enum CodingKeys: String, CodingKey {
            case audioEndMilliseconds = "audio_end_ms"
            case itemID = "item_id"
        }
    }

    struct Committed: Encodable, Sendable {
        let itemID: String
        /// `null` for the session's first item.
        let previousItemID: String?

        enum CodingKeys: String, CodingKey {
            case itemID = "item_id"
            case previousItemID = "previous_item_id"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(itemID, forKey: .itemID)
            try container.encode(previousItemID, forKey: .previousItemID)
        }
    }

    struct Delta: Encodable, Sendable {
        let itemID: String
        var contentIndex = 0
        let delta: String

        enum CodingKeys: String, CodingKey {
            case delta
            case itemID = "item_id"
            case contentIndex = "content_index"
        }
    }

    struct Completed: Encodable, Sendable {
        let itemID: String
        var contentIndex = 0
        let transcript: String

        enum CodingKeys: String, CodingKey {
            case transcript
            case itemID = "item_id"
            case contentIndex = "content_index"
        }
    }

    struct Failure: Encodable, Sendable {
        struct Detail: Encodable, Sendable {
            let type: String
            let code: String
            let message: String
        }

        let error: Detail
    }
}

/// The session object of `transcription_session.created|updated`.
struct OpenAITranscriptionSession: Encodable, Sendable {
    struct Transcription: Encodable, Sendable {
        let model: String
        /// Empty while the language is detected.
        let language: String
        var prompt = ""
    }

    struct TurnDetection: Encodable, Sendable {
        var type = "server_vad"
        let threshold: Double
        let prefixPaddingMilliseconds: Int
        let silenceDurationMilliseconds: Int

        enum CodingKeys: String, CodingKey {
            case type, threshold
            case prefixPaddingMilliseconds = "prefix_padding_ms"
            case silenceDurationMilliseconds = "silence_duration_ms"
        }
    }

    let id: String
    var object = "realtime.transcription_session"
    var inputAudioFormat = "pcm16"
    let inputAudioTranscription: Transcription
    /// `null` with manual commits.
    let turnDetection: TurnDetection?

    enum CodingKeys: String, CodingKey {
        case id, object
        case inputAudioFormat = "input_audio_format"
        case inputAudioTranscription = "input_audio_transcription"
        case turnDetection = "turn_detection"
        case inputAudioNoiseReduction = "input_audio_noise_reduction"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(inputAudioFormat, forKey: .inputAudioFormat)
        try container.encode(inputAudioTranscription, forKey: .inputAudioTranscription)
        try container.encode(turnDetection, forKey: .turnDetection)
        try container.encodeNil(forKey: .inputAudioNoiseReduction)  // not offered
    }
}
