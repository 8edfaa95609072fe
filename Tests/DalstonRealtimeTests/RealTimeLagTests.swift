import DalstonRealtime
import Testing

/// Telling a session that falls behind real time: decoding slower than the audio builds lag,
/// faster decoding pays it back, and each crossing is reported once.
@Suite("Streaming policy: falling behind real time")
struct RealTimeLagTests {
    @Test func slowDecodingIsReportedOnceAndCatchingUpOnce() {
        var lag = RealTimeLag(threshold: 2)
        var changes: [RealTimeLag.Change] = []
        // 0.1 s pieces decoded in 0.2 s: 0.1 s behind per piece, past 2 s at the 21st.
        for _ in 0..<30 {
            if let change = lag.record(audioSeconds: 0.1, processingSeconds: 0.2) { changes.append(change) }
        }
        #expect(changes.count == 1)
        if case .fellBehind(let seconds)? = changes.first { #expect(seconds > 2 && seconds < 2.2) } else { Issue.record("\(changes)") }
        // Decoding at a tenth of real time pays 0.09 s back per piece: under 1 s after a while.
        for _ in 0..<30 {
            if let change = lag.record(audioSeconds: 0.1, processingSeconds: 0.01) { changes.append(change) }
        }
        #expect(changes.last == .caughtUp && changes.count == 2)
        #expect(lag.lag < 1)
    }

    @Test func audioFasterThanRealTimeIsNotBehindWhileDecodingKeepsUp() {
        var lag = RealTimeLag(threshold: 1)
        // A file streamed in one burst: 120 s of audio, each second decoded in 0.3 s.
        for _ in 0..<120 {
            #expect(lag.record(audioSeconds: 1, processingSeconds: 0.3) == nil)
        }
        #expect(lag.lag == 0)
    }
}
