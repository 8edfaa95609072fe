import Foundation

/// What a session tells its client, in Dalston's native protocol. Workers send these as JSON
/// text frames; the gateway forwards them (native) or translates them (other dialects).
package enum RealtimeEvent: Sendable, Equatable {
    case sessionBegin(sessionID: String, config: SessionBeginConfig)
    case speechStart(timestamp: Double)
    case speechEnd(timestamp: Double)
    case partial(TranscriptPiece)
    case final(FinalTranscript)
    case error(RealtimeError)
    case sessionEnd(SessionSummary)

    package var type: String {
        switch self {
        case .sessionBegin: "session.begin"
        case .speechStart: "vad.speech_start"
        case .speechEnd: "vad.speech_end"
        case .partial: "transcript.partial"
        case .final: "transcript.final"
        case .error: "error"
        case .sessionEnd: "session.end"
        }
    }
}

package struct SessionBeginConfig: Sendable, Equatable, Codable {
    package var sampleRate: Int
    package var encoding: String
    package var channels: Int
    package var language: String
    package var model: String?

    package init(sampleRate: Int, encoding: String, channels: Int = 1, language: String, model: String?) {
        self.sampleRate = sampleRate
        self.encoding = encoding
        self.channels = channels
        self.language = language
        self.model = model
    }

    enum CodingKeys: String, CodingKey {
        case encoding, channels, language, model
        case sampleRate = "sample_rate"
    }
}

package struct TranscriptPiece: Sendable, Equatable, Codable {
    package var text: String
    package var start: Double
    package var end: Double

    package init(text: String, start: Double, end: Double) {
        self.text = text
        self.start = start
        self.end = end
    }
}

package struct RealtimeWord: Sendable, Equatable, Codable {
    package var word: String
    package var start: Double
    package var end: Double
    package var confidence: Double

    package init(word: String, start: Double, end: Double, confidence: Double) {
        self.word = word
        self.start = start
        self.end = end
        self.confidence = confidence
    }
}

package struct FinalTranscript: Sendable, Equatable, Codable {
    package var text: String
    package var start: Double
    package var end: Double
    package var confidence: Double
    /// Only when the session asked for word timestamps.
    package var words: [RealtimeWord]?
    /// The session's language once the recogniser knows it (detected from the first seconds of
    /// speech of an `auto` session, or the one asked for); absent when it cannot tell.
    package var language: String?

    package init(text: String, start: Double, end: Double, confidence: Double, words: [RealtimeWord]?, language: String? = nil) {
        self.text = text
        self.start = start
        self.end = end
        self.confidence = confidence
        self.words = words
        self.language = language
    }
}

package struct RealtimeError: Sendable, Equatable, Codable, Error {
    package var code: String
    package var message: String
    package var recoverable: Bool

    package init(code: String, message: String, recoverable: Bool) {
        self.code = code
        self.message = message
        self.recoverable = recoverable
    }
}

package struct SessionSegment: Sendable, Equatable, Codable {
    package var start: Double
    package var end: Double
    package var text: String

    package init(start: Double, end: Double, text: String) {
        self.start = start
        self.end = end
        self.text = text
    }
}

package struct SessionSummary: Sendable, Equatable, Codable {
    package var sessionID: String
    package var totalAudioSeconds: Double
    package var totalSpeechDuration: Double
    package var transcript: String
    package var segments: [SessionSegment]

    package init(sessionID: String, totalAudioSeconds: Double, totalSpeechDuration: Double, transcript: String, segments: [SessionSegment]) {
        self.sessionID = sessionID
        self.totalAudioSeconds = totalAudioSeconds
        self.totalSpeechDuration = totalSpeechDuration
        self.transcript = transcript
        self.segments = segments
    }

    enum CodingKeys: String, CodingKey {
        case transcript, segments
        case sessionID = "session_id"
        case totalAudioSeconds = "total_audio_seconds"
        case totalSpeechDuration = "total_speech_duration"
    }
}

// MARK: Wire form

extension RealtimeEvent: Codable {
    enum Key: String, CodingKey {
        case type, timestamp, config
        case sessionID = "session_id"
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "session.begin":
            self = .sessionBegin(
                sessionID: try container.decode(String.self, forKey: .sessionID), config: try container.decode(SessionBeginConfig.self, forKey: .config))
        case "vad.speech_start": self = .speechStart(timestamp: try container.decode(Double.self, forKey: .timestamp))
        case "vad.speech_end": self = .speechEnd(timestamp: try container.decode(Double.self, forKey: .timestamp))
        case "transcript.partial": self = .partial(try TranscriptPiece(from: decoder))
        case "transcript.final": self = .final(try FinalTranscript(from: decoder))
        case "error": self = .error(try RealtimeError(from: decoder))
        case "session.end": self = .sessionEnd(try SessionSummary(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown realtime event type \(type)")
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(type, forKey: .type)
        switch self {
        case .sessionBegin(let sessionID, let config):
            try container.encode(sessionID, forKey: .sessionID)
            try container.encode(config, forKey: .config)
        case .speechStart(let timestamp), .speechEnd(let timestamp): try container.encode(timestamp, forKey: .timestamp)
        case .partial(let piece): try piece.encode(to: encoder)
        case .final(let final): try final.encode(to: encoder)
        case .error(let error): try error.encode(to: encoder)
        case .sessionEnd(let summary): try summary.encode(to: encoder)
        }
    }

    /// One JSON text frame.
    package var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a string, number, bool or array of those: encoding cannot fail.
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? #"{"type":"error","code":"internal_error","message":"event could not be encoded","recoverable":false}"#
    }

    package static func parse(_ text: String) throws -> RealtimeEvent {
        try JSONDecoder().decode(RealtimeEvent.self, from: Data(text.utf8))
    }
}
