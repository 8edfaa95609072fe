import Synchronization

/// Rate counters in this process: the embedded broker's, and a gateway's without a broker.
public final class LocalRateCounter: RateCounter {
    private struct Window {
        var count: Int
        var endsAt: ContinuousClock.Instant
    }

    private let windows = Mutex<[String: Window]>([:])
    /// Above this many counters, ended windows are dropped on the next hit.
    private static let sweepThreshold = 10_000

    public init() {}

    public func hit(_ name: String, window: Duration) async throws(BrokerError) -> WindowCount {
        let now = ContinuousClock.now
        return windows.withLock { windows in
            if windows.count > Self.sweepThreshold { windows = windows.filter { $0.value.endsAt > now } }
            var current = windows[name].flatMap { $0.endsAt > now ? $0 : nil } ?? Window(count: 0, endsAt: now + window)
            current.count += 1
            windows[name] = current
            return WindowCount(count: current.count, resetsIn: current.endsAt - now)
        }
    }
}
