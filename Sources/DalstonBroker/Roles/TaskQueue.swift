public import Foundation

/// Task queues with at-least-once delivery, one queue per engine type.
public protocol TaskQueue: Sendable {
    /// Puts a task on its engine's queue (`task.engineID`), stamping `enqueuedAt`.
    func enqueue(_ task: TaskEnvelope) async throws(BrokerError)

    /// The next task for `engine`, waiting up to `waitUpTo`; `nil` when none came. Cancellable.
    ///
    /// A task not acknowledged within the visibility timeout (its worker died or hung) is
    /// delivered again, to any consumer; after `maximumDeliveries` it is dead-lettered. A
    /// message that cannot be decoded is dead-lettered at once and never blocks the queue.
    func receive(engine: String, consumer: String, waitUpTo: Duration) async throws(BrokerError) -> ReceivedTask?

    /// Done: the task leaves the queue for good. (To report an outcome in the same atomic step,
    /// use `StateStore.transition` with a `StateEffect.acknowledge`.)
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
    /// The consumer this delivery went to (a redelivery goes to another).
    public let consumer: String

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

