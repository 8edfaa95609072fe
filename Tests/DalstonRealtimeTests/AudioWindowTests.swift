@testable import DalstonSessionRouter
import Synchronization
import Testing

/// The relay's back-pressure: audio in flight to a worker stays within the window, the relay
/// waits while it is full, and a worker that stops acknowledging is noticed.
@Suite("Relay audio window")
struct AudioWindowTests {
    @Test func inFlightAudioNeverExceedsTheWindowAndAcknowledgementsFreeIt() async throws {
        let window = AudioWindow(limit: 10_000)
        let peak = PeakCounter()
        let worker = Task {
            // Decodes what is in flight, a little at a time, acknowledging as it goes.
            var decoded = 0
            while decoded < 200 * 1_000 {
                try await Task.sleep(for: .milliseconds(1))
                peak.observe(window.inFlight)
                decoded = min(decoded + 1_500, 200 * 1_000)
                window.acknowledge(decoded)
            }
        }
        for _ in 0..<200 {
            #expect(await window.reserve(1_000, patience: .seconds(10)))
            peak.observe(window.inFlight)
        }
        try await worker.value
        #expect(peak.value <= 10_000)
        #expect(peak.value >= 5_000, "the relay did run ahead of the worker, up to the window")
    }

    @Test func aMessageLargerThanTheWindowGoesAlone() async {
        let window = AudioWindow(limit: 1_000)
        #expect(await window.reserve(5_000, patience: .seconds(1)))
        window.acknowledge(5_000)
        #expect(window.inFlight == 0)
    }

    @Test func aWorkerThatStopsAcknowledgingIsNoticedAfterThePatience() async {
        let window = AudioWindow(limit: 1_000)
        #expect(await window.reserve(1_000, patience: .seconds(1)))
        let started = ContinuousClock.now
        #expect(await window.reserve(1, patience: .milliseconds(200)) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }

    @Test func cancellingAWaitingRelayEndsItsWait() async {
        let window = AudioWindow(limit: 1_000)
        #expect(await window.reserve(1_000, patience: .seconds(1)))
        // Patience far longer than any starved test machine's delay: ending well before it can
        // only be the cancellation's doing.
        let waiting = Task { await window.reserve(1_000, patience: .seconds(600)) }
        try? await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        waiting.cancel()
        _ = await waiting.value
        #expect(ContinuousClock.now - started < .seconds(300))
    }
}

final class PeakCounter: Sendable {
    private let peak = Mutex(0)
    var value: Int { peak.withLock { $0 } }
    func observe(_ value: Int) { peak.withLock { $0 = max($0, value) } }
}
