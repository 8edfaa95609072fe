/// Events as they are published, for one subscriber.
///
/// Ends when `cancel()` is called, the iteration is abandoned, or the broker shuts down.
public final class EventStream: AsyncSequence, Sendable {
    public typealias Element = EventEnvelope

    private let stream: AsyncStream<EventEnvelope>
    private let readiness: @Sendable (Duration) async -> Bool
    private let cancellation: @Sendable () -> Void

    public init(
        stream: AsyncStream<EventEnvelope>,
        readiness: @escaping @Sendable (Duration) async -> Bool,
        cancellation: @escaping @Sendable () -> Void
    ) {
        self.stream = stream
        self.readiness = readiness
        self.cancellation = cancellation
    }

    public func makeAsyncIterator() -> AsyncStream<EventEnvelope>.AsyncIterator {
        stream.makeAsyncIterator()
    }

    /// Waits until events published from now on are certain to arrive (the subscription is
    /// established). Returns `false` on timeout.
    public func waitUntilReady(timeout: Duration = .seconds(5)) async -> Bool {
        await readiness(timeout)
    }

    public func cancel() {
        cancellation()
    }
}
