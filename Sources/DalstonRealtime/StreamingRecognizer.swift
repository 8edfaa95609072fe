/// A live speech recogniser for one session: utterances are decoded as their audio arrives.
///
/// Calls block (recognition is CPU work) and come one at a time from the session's own thread;
/// an implementation need not be thread-safe.
public protocol StreamingRecognizer: AnyObject {
    func startUtterance() throws
    /// 16 kHz mono samples of the current utterance.
    func process(_ samples: [Int16]) throws
    /// The best guess so far for the current utterance (nil or empty: nothing yet).
    func partialHypothesis() -> String?
    /// Ends the utterance: its words, with times in seconds from the utterance's first sample.
    func endUtterance() throws -> [RecognizedWord]
}

public struct RecognizedWord: Sendable, Equatable {
    public var text: String
    public var start: Double
    public var end: Double
    public var confidence: Double

    public init(text: String, start: Double, end: Double, confidence: Double) {
        self.text = text
        self.start = start
        self.end = end
        self.confidence = confidence
    }
}

/// A recogniser that failed: the client gets a recoverable `internal_error` and the session goes on.
public struct RecognizerFailure: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
