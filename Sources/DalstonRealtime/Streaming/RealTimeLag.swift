/// Whether a session's decoding keeps up with its audio. Time spent decoding beyond the audio's
/// own duration accumulates as lag, and a decoder faster than real time pays it back; a client
/// that sends faster than real time (a file) is not behind as long as decoding is faster than
/// real time. Crossing `threshold` is reported once, and again only after the lag fell back under
/// half of it, so a session on the edge is not reported on every frame.
package struct RealTimeLag: Sendable {
    package enum Change: Equatable, Sendable {
        /// Now this many seconds behind.
        case fellBehind(Double)
        case caughtUp
    }

    package let threshold: Double
    /// Seconds of decoding beyond the audio's duration, not yet paid back.
    package private(set) var lag = 0.0
    private var behind = false

    package init(threshold: Double) {
        self.threshold = threshold
    }

    /// Records one piece of audio and how long its decoding took; the change it made, if any.
    package mutating func record(audioSeconds: Double, processingSeconds: Double) -> Change? {
        lag = max(0, lag + processingSeconds - audioSeconds)
        if !behind && lag > threshold {
            behind = true
            return .fellBehind(lag)
        }
        if behind && lag < threshold / 2 {
            behind = false
            return .caughtUp
        }
        return nil
    }
}
