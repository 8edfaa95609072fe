/// Counters over fixed time windows, shared by every gateway on one broker: what per-key request
/// limits count with, so that a key's limit holds however many gateways it calls.
public protocol RateCounter: Sendable {
    /// Adds one to `name`'s counter for the current window and returns the count with the time
    /// left in the window. A window starts with the first hit after the previous one ended.
    func hit(_ name: String, window: Duration) async throws(BrokerError) -> WindowCount
}

/// A counter's value within its window.
public struct WindowCount: Sendable, Equatable {
    /// Hits in this window, the one just made included.
    public let count: Int
    /// Until the window ends and the count starts again from zero.
    public let resetsIn: Duration

    public init(count: Int, resetsIn: Duration) {
        self.count = count
        self.resetsIn = resetsIn
    }
}
