/// Something that happens at most once (a shutdown asked for, a connection accepted), for one
/// task to wait on without polling. Waiting stops, answering `false`, when the waiting task is
/// cancelled first.
package final class OnceSignal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    package init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Marks it happened; a later call changes nothing.
    package func fire() {
        continuation.yield()
        continuation.finish()
    }

    /// Waits until it happens (`true`) or the waiting task is cancelled (`false`). One waiter.
    package func wait() async -> Bool {
        for await _ in stream { return true }
        return false
    }
}
