import Foundation

/// What the ElevenLabs realtime endpoint sends, as its SDK parses it (`message_type` first).
enum ElevenLabsFrame {
    struct SessionStarted: Codable, Sendable {
        struct Config: Codable, Sendable {
            let sampleRate: Int
            let audioFormat: String
            let languageCode: String
            let modelID: String
            let commitStrategy: String
            let includeTimestamps: Bool

            enum CodingKeys: String, CodingKey {
                case sampleRate = "sample_rate"
                case audioFormat = "audio_format"
                case languageCode = "language_code"
                case modelID = "model_id"
                case commitStrategy = "commit_strategy"
                case includeTimestamps = "include_timestamps"
            }
        }

        var messageType = "session_started"
        let sessionID: String
        let config: Config

        enum CodingKeys: String, CodingKey {
            case config
            case messageType = "message_type"
            case sessionID = "session_id"
        }
    }

    /// `partial_transcript` or `committed_transcript`.
    struct Transcript: Codable, Sendable {
        let messageType: String
        let text: String

        enum CodingKeys: String, CodingKey {
            case text
            case messageType = "message_type"
        }
    }

    struct TranscriptWithTimestamps: Codable, Sendable {
        /// A word, or the spacing between two (`type`), with its times.
        struct Item: Codable, Sendable {
            let text: String
            let start: Double
            let end: Double
            let type: String
            let logprob: Double?
        }

        var messageType = "committed_transcript_with_timestamps"
        let text: String
        let languageCode: String
        let words: [Item]

        enum CodingKeys: String, CodingKey {
            case text, words
            case messageType = "message_type"
            case languageCode = "language_code"
        }
    }

    /// An error: its kind in `message_type`, the text under `error`.
    struct Error: Codable, Sendable {
        let messageType: String
        let error: String
        let code: String

        enum CodingKeys: String, CodingKey {
            case error, code
            case messageType = "message_type"
        }
    }
}

/// A text frame from an encodable value (keys sorted, so frames are reproducible in tests).
enum JSONFrame {
    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
