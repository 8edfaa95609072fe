/// A live speech recogniser for one session: utterances are decoded as their audio arrives.
///
/// Calls block (recognition is CPU work) and come one at a time from the session's own thread;
/// an implementation need not be thread-safe.
package protocol StreamingRecognizer: AnyObject {
    func startUtterance() throws
    /// 16 kHz mono samples of the current utterance.
    func process(_ samples: [Int16]) throws
    /// The best guess so far for the current utterance (nil or empty: nothing yet).
    func partialHypothesis() -> String?
    /// Ends the utterance: its words, with times in seconds from the utterance's first sample.
    func endUtterance() throws -> [RecognizedWord]
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
