/// Job events, at most once, to every subscriber.
public protocol EventBus: Sendable {
    func publish(_ event: EventEnvelope) async throws(BrokerError)

    /// Every event published from now on. Undecodable events are logged and skipped.
    func events() -> EventStream
}
