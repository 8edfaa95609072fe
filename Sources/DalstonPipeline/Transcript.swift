import Foundation

/// Words and segments as engines pass them on and the API returns them.
package struct TranscriptWord: Sendable, Codable, Equatable {
    package var text: String
    package var start: Double
    package var end: Double
    package var confidence: Double?

    package init(text: String, start: Double, end: Double, confidence: Double? = nil) {
        self.text = text
        self.start = start
        self.end = end
        self.confidence = confidence
    }
}

package struct TranscriptSegment: Sendable, Codable, Equatable {
    package var id: Int
    package var start: Double
    package var end: Double
    package var text: String

    package init(id: Int, start: Double, end: Double, text: String) {
        self.id = id
        self.start = start
        self.end = end
        self.text = text
    }
}

/// The final result of a job (`result.json`).
package struct Transcript: Sendable, Codable, Equatable {
    package var text: String
    package var languageCode: String
    package var duration: Double
    package var segments: [TranscriptSegment]
    package var words: [TranscriptWord]

    package init(text: String, languageCode: String, duration: Double, segments: [TranscriptSegment], words: [TranscriptWord]) {
        self.text = text
        self.languageCode = languageCode
        self.duration = duration
        self.segments = segments
        self.words = words
    }

    /// The words timed within a segment (a millisecond of slack for rounding at its edges).
    package func words(in segment: TranscriptSegment) -> [TranscriptWord] {
        words.filter { $0.start >= segment.start - 0.001 && $0.end <= segment.end + 0.001 }
    }

    enum CodingKeys: String, CodingKey {
        case text, duration, segments, words
        case languageCode = "language_code"
    }
}
