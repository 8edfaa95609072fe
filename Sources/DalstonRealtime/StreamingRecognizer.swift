/// A live speech recogniser for one session: utterances are decoded as their audio arrives.
///
/// Calls block (recognition is CPU work) and come one at a time from the session's own thread;
/// an implementation need not be thread-safe.
package protocol StreamingRecognizer: AnyObject {
    /// A new session on this recogniser, in `language` (`auto`: detect): nothing of the last
    /// session carries over. `correlation`: the session's `session_id` and `request_id`, for
    /// the log lines of whatever runs the model.
    func beginSession(language: String, correlation: [String: String])
    /// The client changed the session's language (`auto`: detect again).
    func setLanguage(_ code: String)
    /// The language the session's speech is in, once known (detected or fixed); nil: unknown.
    var detectedLanguage: String? { get }
    func startUtterance() throws
    /// 16 kHz mono samples of the current utterance.
    func process(_ samples: [Int16]) throws
    /// The best guess so far for the current utterance (nil or empty: nothing yet).
    /// May decode (and fail); a recogniser that has nothing new returns its last guess.
    func partialHypothesis() throws -> String?
    /// Ends the utterance: its words, with times in seconds from the utterance's first sample.
    func endUtterance() throws -> [RecognizedWord]
    /// Ends the utterance without its words (noise, or a client's `clear`).
    func discardUtterance()
}

extension StreamingRecognizer {
    package func beginSession(language: String, correlation: [String: String]) {}
    package func setLanguage(_ code: String) {}
    package var detectedLanguage: String? { nil }
    package func discardUtterance() { _ = try? endUtterance() }
}

package struct RecognizedWord: Sendable, Equatable {
    package var text: String
    package var start: Double
    package var end: Double
    package var confidence: Double

    package init(text: String, start: Double, end: Double, confidence: Double) {
        self.text = text
        self.start = start
        self.end = end
        self.confidence = confidence
    }
}

/// A recogniser that failed: the client gets a recoverable `internal_error` and the session goes on.
package struct RecognizerFailure: Error, Sendable, CustomStringConvertible {
    package let description: String

    package init(_ description: String) {
        self.description = description
    }
}
