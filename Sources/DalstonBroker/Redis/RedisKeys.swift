/// Every Redis key and channel the broker uses, in one place (documented in docs/messages.md).
struct RedisKeys: Sendable {
    let prefix: String

    /// Stream of a task queue: entries with field `envelope` (JSON `TaskEnvelope`).
    func taskStream(_ engine: String) -> String { "\(prefix):tasks:\(engine)" }
    /// Stream of dead letters: fields `engine`, `reason`, `payload`, `deliveries`, `failed_at`.
    func deadLetterStream(_ engine: String) -> String { "\(prefix):dead-letter:\(engine)" }
    /// Set of engine types that have had a queue.
    var engines: String { "\(prefix):engines" }
    /// Consumer group shared by all workers of an engine type.
    var consumerGroup: String { "\(prefix)-workers" }
    /// Pub/sub channel of `EventEnvelope` JSON.
    var events: String { "\(prefix):events" }
    /// Hash of a state record.
    func state(_ key: StateKey) -> String { "\(prefix):\(key.namespace):\(key.id)" }
    /// Sorted set of an index.
    func index(_ name: String) -> String { "\(prefix):index:\(name)" }
    /// Counter of a `RateCounter` window (expires with the window).
    func rateCounter(_ name: String) -> String { "\(prefix):ratelimit:\(name)" }
    /// Hash: worker id → JSON `WorkerHeartbeat`.
    var workers: String { "\(prefix):workers" }
}
