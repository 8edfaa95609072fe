/// Records (string fields, like Redis hashes) and ordered indexes, with one atomic primitive,
/// `transition`, on which every change of a job's state is built.
///
/// A transition checks fields of one record, sets fields and, in the same atomic step, enqueues
/// tasks, publishes events and updates indexes. That is what lets any number of orchestrators
/// share one store: of two that try to move a task from `waiting` to `queued`, exactly one
/// succeeds, and only that one's task reaches the queue.
public protocol StateStore: Sendable {
    /// All fields of a record; empty when it does not exist.
    func record(_ key: StateKey) async throws(BrokerError) -> [String: String]
    /// Sets fields of a record, leaving the others, without conditions.
    func saveRecord(_ key: StateKey, fields: [String: String]) async throws(BrokerError)
    func deleteRecord(_ key: StateKey) async throws(BrokerError)
    /// Applies `transition` if its conditions hold, atomically.
    func transition(_ transition: StateTransition) async throws(BrokerError) -> TransitionResult

    /// Members with their scores, highest first (ties: member descending), optionally only those
    /// scored at most `maximumScore` (for pages that continue below the last one seen).
    func indexEntries(_ index: String, limit: Int, maximumScore: Double?) async throws(BrokerError) -> [IndexEntry]
    /// How many members the index has (cheap: metrics sample it on every scrape).
    func indexCount(_ index: String) async throws(BrokerError) -> Int
    func removeFromIndex(_ index: String, member: String) async throws(BrokerError)
}

/// One member of an ordered index and its score (for jobs, the creation time).
public struct IndexEntry: Sendable, Equatable {
    public let member: String
    public let score: Double

    public init(member: String, score: Double) {
        self.member = member
        self.score = score
    }
}

extension StateStore {
    public func indexMembers(_ index: String, limit: Int, maximumScore: Double? = nil) async throws(BrokerError) -> [String] {
        try await indexEntries(index, limit: limit, maximumScore: maximumScore).map(\.member)
    }
}

/// A conditional, atomic change of one record and what goes with it.
public struct StateTransition: Sendable, Equatable {
    public var key: StateKey
    /// Field → the values it may have for the transition to apply; `""` stands for "absent".
    public var conditions: [String: Set<String>]
    public var fields: [String: String]
    /// Done in the same atomic step, in order, only when the conditions hold.
    public var effects: [StateEffect]
    /// Whether the result carries the record as it is afterwards (or as it was, when the
    /// conditions did not hold): saves a read when the caller goes on from the new state.
    public var returnsRecord: Bool

    public init(
        _ key: StateKey, when conditions: [String: Set<String>] = [:], set fields: [String: String] = [:],
        effects: [StateEffect] = [], returnsRecord: Bool = false
    ) {
        self.key = key
        self.conditions = conditions
        self.fields = fields
        self.effects = effects
        self.returnsRecord = returnsRecord
    }
}

/// What a transition does besides setting fields.
public enum StateEffect: Sendable, Equatable {
    /// Settles a delivery for good. When the delivery is no longer outstanding (settled already,
    /// or redelivered after its visibility timeout), the whole transition does not apply. Must
    /// come first among the effects.
    case acknowledge(ReceivedTask)
    /// Puts the task on its engine's queue (stamping `enqueuedAt`).
    case enqueue(TaskEnvelope)
    case publish(EventEnvelope)
    case addToIndex(String, member: String, score: Double)
    case removeFromIndex(String, member: String)
}

public struct TransitionResult: Sendable, Equatable {
    /// Whether the conditions held and the change was made.
    public let applied: Bool
    /// The record afterwards (or unchanged, when not applied); empty unless asked for.
    public let record: [String: String]

    public init(applied: Bool, record: [String: String]) {
        self.applied = applied
        self.record = record
    }
}

/// A record in the state store, e.g. `.job("0b9e…")` → Redis hash `dalston:job:0b9e…`.
public struct StateKey: Sendable, Hashable, CustomStringConvertible {
    public let namespace: String
    public let id: String

    public init(namespace: String, id: String) {
        self.namespace = namespace
        self.id = id
    }

    public static func job(_ id: String) -> StateKey { StateKey(namespace: "job", id: id) }

    public var description: String { "\(namespace):\(id)" }
}

