import Foundation

/// Everything Dalston's services need from their transport, as one value. Components take only
/// the roles they use: an engine runner a `TaskQueue`, an `EventBus` and a `WorkerRegistry`; the
/// orchestrator and the gateway a `StateStore` (whose transitions can enqueue and publish) and an
/// `EventBus`; the gateway's request limits a `RateCounter`.
///
/// Two implementations share one conformance suite per role: `RedisBroker` (Redis Streams,
/// pub/sub and hashes, for separate processes and machines) and `InMemoryBroker` (the embedded
/// default when `REDIS_URL` is unset).
public protocol Broker: TaskQueue, EventBus, StateStore, WorkerRegistry, RateCounter {
    /// The timeouts and limits it was made with (lease renewal is derived from them).
    var options: BrokerOptions { get }

    /// Stops background work and releases connections.
    func shutdown() async
}

/// Tuning shared by both brokers.
public struct BrokerOptions: Sendable {
    /// How long a delivered task may go unacknowledged before it is delivered again.
    public var visibilityTimeout: Duration = .seconds(60)
    /// Deliveries after which an unacknowledged task goes to the dead-letter queue.
    public var maximumDeliveries = 5
    /// A worker without a heartbeat for this long is not alive.
    public var workerTimeout: Duration = .seconds(30)
    /// Prefix of every Redis key and channel.
    public var keyPrefix = "dalston"

    public init() {}
}

public enum BrokerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The transport failed (Redis unreachable, connection lost); retrying later may work.
    case unavailable(String)
    /// A message cannot be encoded or decoded.
    case invalidMessage(String)
    /// The receipt does not match a delivery the broker knows (already settled, or redelivered
    /// to someone else after the visibility timeout).
    case unknownDelivery(String)
    case shutDown

    public var description: String {
        switch self {
        case .unavailable(let reason): return "message broker unavailable: \(reason)"
        case .invalidMessage(let reason): return "invalid message: \(reason)"
        case .unknownDelivery(let receipt): return "no outstanding delivery \(receipt): it was already settled or has been redelivered after its visibility timeout"
        case .shutDown: return "the broker has been shut down"
        }
    }
}
