import Foundation

/// What Dalston's services need from their message transport: task queues with at-least-once
/// delivery, job events, job/task state and a worker registry.
///
/// Two implementations share one conformance suite: `RedisBroker` (Redis Streams, for separate
/// processes and machines) and `InMemoryBroker` (the embedded default when `REDIS_URL` is unset).
public protocol Broker: Sendable {
    // MARK: Task queues (at least once)

    /// Puts a task on its engine's queue (`task.engineID`), stamping `enqueuedAt`.
    func enqueue(_ task: TaskEnvelope) async throws(BrokerError)

    /// The next task for `engine`, waiting up to `waitUpTo`; `nil` when none came. Cancellable.
    ///
    /// A task not acknowledged within the visibility timeout (its worker died or hung) is
    /// delivered again, to any consumer; after `maximumDeliveries` it is dead-lettered. A
    /// message that cannot be decoded is dead-lettered at once and never blocks the queue.
    func receive(engine: String, consumer: String, waitUpTo: Duration) async throws(BrokerError) -> ReceivedTask?

    /// Done: the task leaves the queue for good.
    func acknowledge(_ task: ReceivedTask) async throws(BrokerError)

    /// Keeps a long-running task from being redelivered: restarts its visibility timeout.
    func renewLease(_ task: ReceivedTask) async throws(BrokerError)

    /// Puts the task back at once, for another consumer (e.g. on graceful shutdown).
    func requeue(_ task: ReceivedTask) async throws(BrokerError)

    /// Moves the task to its engine's dead-letter queue with a reason.
    func deadLetter(_ task: ReceivedTask, reason: String) async throws(BrokerError)

    func queueStats(engine: String) async throws(BrokerError) -> QueueStats

    /// The most recent dead letters of an engine, newest last.
    func deadLetters(engine: String, limit: Int) async throws(BrokerError) -> [DeadLetter]

    /// The engine types that have (or had) a queue.
    func knownEngines() async throws(BrokerError) -> [String]

    // MARK: Events (at most once, to every subscriber)

    func publish(_ event: EventEnvelope) async throws(BrokerError)

    /// Every event published from now on. Undecodable events are logged and skipped.
    func events() -> EventStream

    // MARK: State

    /// Sets fields of a record (a Redis hash), leaving the others.
    func saveState(_ key: StateKey, fields: [String: String]) async throws(BrokerError)
    /// All fields of a record; empty when it does not exist.
    func state(_ key: StateKey) async throws(BrokerError) -> [String: String]
    func incrementState(_ key: StateKey, field: String, by amount: Int) async throws(BrokerError) -> Int64
    func deleteState(_ key: StateKey) async throws(BrokerError)
    /// Adds a member to a named index ordered by score (e.g. jobs by creation time).
    func addToIndex(_ index: String, member: String, score: Double) async throws(BrokerError)
    /// Members with the highest scores first.
    func indexMembers(_ index: String, limit: Int) async throws(BrokerError) -> [String]
    func removeFromIndex(_ index: String, member: String) async throws(BrokerError)
    /// How many members the index has (cheap: metrics sample it on every scrape).
    func indexCount(_ index: String) async throws(BrokerError) -> Int

    // MARK: Workers

    func heartbeat(_ worker: WorkerHeartbeat) async throws(BrokerError)
    /// Workers whose last heartbeat is recent enough, per `BrokerOptions.workerTimeout`.
    func liveWorkers() async throws(BrokerError) -> [WorkerHeartbeat]

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

/// A delivered task and what the broker needs to settle it.
public struct ReceivedTask: Sendable, Equatable {
    public let envelope: TaskEnvelope
    public let engine: String
    /// Identifies this delivery to the broker (stream entry id or message id).
    public let receipt: String
    /// 1 on first delivery; more after redeliveries.
    public let deliveryCount: Int
    public let receivedAt: Date

    /// Time spent waiting in the queue before this delivery.
    public var queueWait: TimeInterval? {
        envelope.enqueuedAt.map { max(0, receivedAt.timeIntervalSince($0)) }
    }
}

public struct QueueStats: Sendable, Equatable {
    /// Tasks not yet delivered.
    public var waiting: Int
    /// Delivered, not yet acknowledged.
    public var inFlight: Int
    public var deadLettered: Int
    /// Age of the oldest task still in the queue (waiting or in flight), if any.
    public var oldestAge: TimeInterval?

    public init(waiting: Int, inFlight: Int, deadLettered: Int, oldestAge: TimeInterval?) {
        self.waiting = waiting
        self.inFlight = inFlight
        self.deadLettered = deadLettered
        self.oldestAge = oldestAge
    }
}

/// A task given up on, with why.
public struct DeadLetter: Sendable, Equatable {
    public let engine: String
    public let reason: String
    /// The message exactly as it was on the queue (it may not be decodable).
    public let payload: [UInt8]
    public let deliveries: Int
    public let failedAt: Date

    public init(engine: String, reason: String, payload: [UInt8], deliveries: Int, failedAt: Date) {
        self.engine = engine
        self.reason = reason
        self.payload = payload
        self.deliveries = deliveries
        self.failedAt = failedAt
    }

    /// The task, when the payload is decodable.
    public var envelope: TaskEnvelope? { try? MessageCoding.decodeTask(payload) }
}

/// A record in the state store, e.g. `.job("job_1")` → Redis hash `dalston:job:job_1`.
public struct StateKey: Sendable, Hashable, CustomStringConvertible {
    public let namespace: String
    public let id: String

    public init(namespace: String, id: String) {
        self.namespace = namespace
        self.id = id
    }

    public static func job(_ id: String) -> StateKey { StateKey(namespace: "job", id: id) }
    public static func task(_ id: String) -> StateKey { StateKey(namespace: "task", id: id) }

    public var description: String { "\(namespace):\(id)" }
}

/// What a worker reports about itself.
public struct WorkerHeartbeat: Sendable, Equatable, Codable {
    public var workerID: String
    public var engineID: String
    /// `idle` or `busy`.
    public var status: String
    public var currentTaskID: String?
    public var lastSeen: Date

    public init(workerID: String, engineID: String, status: String, currentTaskID: String? = nil, lastSeen: Date = Date()) {
        self.workerID = workerID
        self.engineID = engineID
        self.status = status
        self.currentTaskID = currentTaskID
        self.lastSeen = lastSeen
    }

    enum CodingKeys: String, CodingKey {
        case status
        case workerID = "worker_id"
        case engineID = "engine_id"
        case currentTaskID = "current_task_id"
        case lastSeen = "last_seen"
    }
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
