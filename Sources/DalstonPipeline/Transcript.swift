import Foundation

/// Words and segments as engines pass them on and the API returns them.
public struct TranscriptWord: Sendable, Codable, Equatable {
    public var text: String
    public var start: Double
    public var end: Double
    public var confidence: Double?

    public init(text: String, start: Double, end: Double, confidence: Double? = nil) {
        self.text = text
        self.start = start
        self.end = end
        self.confidence = confidence
    }
}

public struct TranscriptSegment: Sendable, Codable, Equatable {
    public var id: Int
    public var start: Double
    public var end: Double
    public var text: String

    public init(id: Int, start: Double, end: Double, text: String) {
        self.id = id
        self.start = start
        self.end = end
        self.text = text
    }
}

/// The final result of a job (`result.json`).
public struct Transcript: Sendable, Codable, Equatable {
    public var text: String
    public var languageCode: String
    public var duration: Double
    public var segments: [TranscriptSegment]
    public var words: [TranscriptWord]

    public init(text: String, languageCode: String, duration: Double, segments: [TranscriptSegment], words: [TranscriptWord]) {
        self.text = text
        self.languageCode = languageCode
        self.duration = duration
        self.segments = segments
        self.words = words
    }

    /// The words timed within a segment (a millisecond of slack for rounding at its edges).
    public func words(in segment: TranscriptSegment) -> [TranscriptWord] {
        words.filter { $0.start >= segment.start - 0.001 && $0.end <= segment.end + 0.001 }
    }

    enum CodingKeys: String, CodingKey {
        case text, duration, segments, words
        case languageCode = "language_code"
    }
}
