import DalstonCore
import Foundation
public import Logging

/// The embedded broker: everything in this process's memory, with the same semantics as
/// `RedisBroker` (the shared conformance suite runs against both). Used when `REDIS_URL` is not
/// set, so Dalston runs on a fresh machine with no Redis.
///
/// Messages are stored encoded, exactly as they would travel over Redis, so that decoding,
/// version checks and dead-lettering of undecodable messages behave the same.
public actor InMemoryBroker: Broker {
    private struct QueuedMessage {
        let id: UInt64
        let payload: [UInt8]
        let enqueuedAt: Date
        var deliveries: Int
    }

    private struct Delivery {
        var message: QueuedMessage
        let consumer: String
        var visibleAgainAt: ContinuousClock.Instant
    }

    public let options: BrokerOptions
    private let logger: Logger
    private var nextMessageID: UInt64 = 1
    private var waiting: [String: [QueuedMessage]] = [:]
    private var inFlight: [String: [UInt64: Delivery]] = [:]
    private var deadLetterQueues: [String: [DeadLetter]] = [:]
    private var waiters: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
    private var nextWaiterID = 0
    private var records: [StateKey: [String: String]] = [:]
    private var indexes: [String: [String: Double]] = [:]
    private var workers: [String: WorkerHeartbeat] = [:]
    private let rateCounter = LocalRateCounter()
    private var subscribers: [Int: AsyncStream<EventEnvelope>.Continuation] = [:]
    private var nextSubscriberID = 0
    private var isShutDown = false

    /// Dead letters kept per engine (the oldest are dropped beyond this), as with Redis' MAXLEN.
    public static let deadLetterLimit = 10_000

    public init(options: BrokerOptions = BrokerOptions(), logger: Logger = Logger(label: "dalston.broker")) {
        self.options = options
        self.logger = logger
    }

    // MARK: Queues

    public func enqueue(_ task: TaskEnvelope) async throws(BrokerError) {
        var task = task
        task.enqueuedAt = Date()
        try enqueuePayload(MessageCoding.encode(task), engine: task.engineID)
    }

    /// Puts bytes on a queue as they are: for tools that replay dead letters, and for tests of
    /// undecodable messages.
    public func enqueueRawPayload(_ payload: [UInt8], engine: String) throws(BrokerError) {
        try enqueuePayload(payload, engine: engine)
    }

    private func enqueuePayload(_ payload: [UInt8], engine: String) throws(BrokerError) {
        guard !isShutDown else { throw .shutDown }
        waiting[engine, default: []].append(QueuedMessage(id: nextMessageID, payload: payload, enqueuedAt: Date(), deliveries: 0))
        nextMessageID += 1
        wakeWaiters(engine)
    }

    public func receive(engine: String, consumer: String, waitUpTo: Duration) async throws(BrokerError) -> ReceivedTask? {
        let deadline = ContinuousClock.now + waitUpTo
        while true {
            guard !isShutDown else { throw .shutDown }
            if Task.isCancelled { return nil }
            if let delivery = takeExpiredDelivery(engine: engine) {
                var message = delivery.message
                message.deliveries += 1
                if message.deliveries > options.maximumDeliveries {
                    recordDeadLetter(engine: engine, payload: message.payload, deliveries: message.deliveries - 1,
                                     reason: "not acknowledged after \(message.deliveries - 1) deliveries (each worker died or timed out)")
                    continue
                }
                logger.warning("task_redelivered", metadata: [
                    "engine_id": "\(engine)", "previous_consumer": "\(delivery.consumer)", "deliveries": .stringConvertible(message.deliveries),
                ])
                if let task = deliver(message, engine: engine, consumer: consumer) { return task }
                continue
            }
            if var message = waiting[engine]?.first {
                waiting[engine]?.removeFirst()
                message.deliveries = 1
                if let task = deliver(message, engine: engine, consumer: consumer) { return task }
                continue
            }
            let now = ContinuousClock.now
            if now >= deadline { return nil }
            let nextExpiry = inFlight[engine]?.values.map(\.visibleAgainAt).min()
            await waitForWork(engine: engine, until: min(deadline, nextExpiry ?? deadline))
        }
    }

    /// Marks a message in flight and decodes it; an undecodable one is dead-lettered (`nil`).
    private func deliver(_ message: QueuedMessage, engine: String, consumer: String) -> ReceivedTask? {
        let envelope: TaskEnvelope
        do {
            envelope = try MessageCoding.decodeTask(message.payload)
        } catch {
            recordDeadLetter(engine: engine, payload: message.payload, deliveries: message.deliveries, reason: error.description)
            return nil
        }
        inFlight[engine, default: [:]][message.id] = Delivery(
            message: message, consumer: consumer, visibleAgainAt: .now + options.visibilityTimeout)
        return ReceivedTask(envelope: envelope, engine: engine, receipt: String(message.id), deliveryCount: message.deliveries, receivedAt: Date(), consumer: consumer)
    }

    private func takeExpiredDelivery(engine: String) -> Delivery? {
        let now = ContinuousClock.now
        guard let expired = inFlight[engine]?.values.filter({ $0.visibleAgainAt <= now }).min(by: { $0.message.id < $1.message.id })
        else { return nil }
        inFlight[engine]?[expired.message.id] = nil
        return expired
    }

    public func acknowledge(_ task: ReceivedTask) async throws(BrokerError) {
        _ = try settle(task)
    }

    public func renewLease(_ task: ReceivedTask) async throws(BrokerError) {
        guard let id = UInt64(task.receipt), inFlight[task.engine]?[id] != nil else { throw .unknownDelivery(task.receipt) }
        inFlight[task.engine]?[id]?.visibleAgainAt = .now + options.visibilityTimeout
    }

    public func requeue(_ task: ReceivedTask) async throws(BrokerError) {
        _ = try settle(task)
        try await enqueue(task.envelope)
    }

    public func deadLetter(_ task: ReceivedTask, reason: String) async throws(BrokerError) {
        let delivery = try settle(task)
        recordDeadLetter(engine: task.engine, payload: delivery.message.payload, deliveries: delivery.message.deliveries, reason: reason)
    }

    private func settle(_ task: ReceivedTask) throws(BrokerError) -> Delivery {
        guard let id = UInt64(task.receipt), let delivery = inFlight[task.engine]?.removeValue(forKey: id) else {
            throw .unknownDelivery(task.receipt)
        }
        return delivery
    }

    private func recordDeadLetter(engine: String, payload: [UInt8], deliveries: Int, reason: String) {
        if let task = try? MessageCoding.decodeTask(payload),
           let announcement = try? MessageCoding.encode(DeadLetterAnnouncement.event(for: task, reason: reason, deliveries: deliveries)) {
            deliverEvent(announcement)
        }
        deadLetterQueues[engine, default: []].append(DeadLetter(engine: engine, reason: reason, payload: payload, deliveries: deliveries, failedAt: Date()))
        if deadLetterQueues[engine, default: []].count > Self.deadLetterLimit {
            deadLetterQueues[engine]?.removeFirst()
        }
        logger.error("task_dead_lettered", metadata: ["engine_id": "\(engine)", "reason": "\(reason)", "deliveries": .stringConvertible(deliveries)])
    }

    public func queueStats(engine: String) async throws(BrokerError) -> QueueStats {
        guard !isShutDown else { throw .shutDown }
        let queued = waiting[engine] ?? []
        let delivered = inFlight[engine]?.values.map(\.message) ?? []
        let oldest = (queued + delivered).map(\.enqueuedAt).min()
        return QueueStats(
            waiting: queued.count, inFlight: delivered.count, deadLettered: deadLetterQueues[engine]?.count ?? 0,
            oldestAge: oldest.map { Date().timeIntervalSince($0) })
    }

    public func deadLetters(engine: String, limit: Int) async throws(BrokerError) -> [DeadLetter] {
        Array((deadLetterQueues[engine] ?? []).suffix(limit))
    }

    public func knownEngines() async throws(BrokerError) -> [String] {
        guard !isShutDown else { throw .shutDown }
        return Set(waiting.keys).union(inFlight.keys).union(deadLetterQueues.keys).sorted()
    }

    // MARK: Waiting for work

    private func waitForWork(engine: String, until wakeAt: ContinuousClock.Instant) async {
        let id = nextWaiterID
        nextWaiterID += 1
        let timer = Task { [weak self] in
            try? await Task.sleep(until: wakeAt, clock: .continuous)
            await self?.wakeWaiter(engine: engine, id: id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiters[engine, default: [:]][id] = continuation
            }
        } onCancel: {
            Task { [weak self] in await self?.wakeWaiter(engine: engine, id: id) }
        }
        timer.cancel()
    }

    private func wakeWaiter(engine: String, id: Int) {
        waiters[engine]?.removeValue(forKey: id)?.resume()
    }

    private func wakeWaiters(_ engine: String) {
        guard let pending = waiters.removeValue(forKey: engine) else { return }
        for continuation in pending.values { continuation.resume() }
    }

    // MARK: Events

    public func publish(_ event: EventEnvelope) async throws(BrokerError) {
        guard !isShutDown else { throw .shutDown }
        deliverEvent(try MessageCoding.encode(event))
    }

    private func deliverEvent(_ payload: [UInt8]) {
        let decoded: EventEnvelope
        do {
            decoded = try MessageCoding.decodeEvent(payload)  // subscribers get what Redis would give them
        } catch {
            logger.warning("event_undecodable", metadata: ["error": "\(error)"])
            return
        }
        for continuation in subscribers.values { continuation.yield(decoded) }
    }

    public nonisolated func events() -> EventStream {
        let (stream, continuation) = AsyncStream.makeStream(of: EventEnvelope.self, bufferingPolicy: .bufferingOldest(100_000))
        let registration = Task { await self.addSubscriber(continuation) }
        continuation.onTermination = { _ in
            Task {
                if let id = await registration.value { await self.removeSubscriber(id) }
            }
        }
        return EventStream(
            stream: stream,
            readiness: { _ in await registration.value != nil },
            cancellation: { continuation.finish() })
    }

    private func addSubscriber(_ continuation: AsyncStream<EventEnvelope>.Continuation) -> Int? {
        guard !isShutDown else {
            continuation.finish()
            return nil
        }
        let id = nextSubscriberID
        nextSubscriberID += 1
        subscribers[id] = continuation
        return id
    }

    private func removeSubscriber(_ id: Int) {
        subscribers[id] = nil
    }

    /// How many event subscriptions are open (for tests of who subscribes).
    package var subscriberCount: Int { subscribers.count }

    // MARK: State

    public func record(_ key: StateKey) async throws(BrokerError) -> [String: String] {
        guard !isShutDown else { throw .shutDown }
        return records[key] ?? [:]
    }

    public func saveRecord(_ key: StateKey, fields: [String: String]) async throws(BrokerError) {
        guard !isShutDown else { throw .shutDown }
        records[key, default: [:]].merge(fields) { _, new in new }
    }

    public func deleteRecord(_ key: StateKey) async throws(BrokerError) {
        records[key] = nil
    }

    /// Atomic because the actor runs it without suspending: nothing else touches the record, the
    /// queues or the subscribers between the check and the effects.
    public func transition(_ transition: StateTransition) async throws(BrokerError) -> TransitionResult {
        guard !isShutDown else { throw .shutDown }
        let current = records[transition.key] ?? [:]
        let applies = transition.conditions.allSatisfy { field, allowed in allowed.contains(current[field] ?? "") }
        guard applies else { return TransitionResult(applied: false, record: transition.returnsRecord ? current : [:]) }
        // Encode everything first, so a message that cannot be encoded changes nothing.
        var encoded: [(StateEffect, [UInt8])] = []
        for effect in transition.effects {
            switch effect {
            case .enqueue(var task):
                task.enqueuedAt = Date()
                encoded.append((effect, try MessageCoding.encode(task)))
            case .publish(let event):
                encoded.append((effect, try MessageCoding.encode(event)))
            case .acknowledge, .addToIndex, .removeFromIndex:
                encoded.append((effect, []))
            }
        }
        if case .acknowledge(let task)? = transition.effects.first {
            guard let id = UInt64(task.receipt), inFlight[task.engine]?[id]?.consumer == task.consumer else {
                return TransitionResult(applied: false, record: transition.returnsRecord ? current : [:])
            }
        }
        if !transition.fields.isEmpty {
            records[transition.key, default: [:]].merge(transition.fields) { _, new in new }
        }
        for (effect, payload) in encoded {
            switch effect {
            case .acknowledge(let task): _ = try settle(task)
            case .enqueue(let task): try enqueuePayload(payload, engine: task.engineID)
            case .publish: deliverEvent(payload)
            case .addToIndex(let index, let member, let score): indexes[index, default: [:]][member] = score
            case .removeFromIndex(let index, let member): indexes[index]?[member] = nil
            }
        }
        return TransitionResult(applied: true, record: transition.returnsRecord ? records[transition.key] ?? [:] : [:])
    }

    public func indexEntries(_ index: String, limit: Int, maximumScore: Double?) async throws(BrokerError) -> [IndexEntry] {
        guard !isShutDown else { throw .shutDown }
        return (indexes[index] ?? [:]).filter { $0.value <= (maximumScore ?? .infinity) }
            .sorted { ($0.value, $0.key) > ($1.value, $1.key) }.prefix(limit).map { IndexEntry(member: $0.key, score: $0.value) }
    }

    public func removeFromIndex(_ index: String, member: String) async throws(BrokerError) {
        indexes[index]?[member] = nil
    }

    public func indexCount(_ index: String) async throws(BrokerError) -> Int {
        indexes[index]?.count ?? 0
    }

    // MARK: Rate counters

    /// Not isolated to the broker: the counter has its own lock, and a request should not wait
    /// for the actor (which queues and deliveries keep busy) to count itself.
    public nonisolated func hit(_ name: String, window: Duration) async throws(BrokerError) -> WindowCount {
        try await rateCounter.hit(name, window: window)
    }

    // MARK: Workers

    public func heartbeat(_ worker: WorkerHeartbeat) async throws(BrokerError) {
        guard !isShutDown else { throw .shutDown }
        workers[worker.workerID] = worker
    }

    public func liveWorkers() async throws(BrokerError) -> [WorkerHeartbeat] {
        guard !isShutDown else { throw .shutDown }
        let cutoff = Date().addingTimeInterval(-options.workerTimeout.seconds)
        return workers.values.filter { $0.lastSeen >= cutoff }.sorted { $0.workerID < $1.workerID }
    }

    public func shutdown() async {
        isShutDown = true
        for continuation in subscribers.values { continuation.finish() }
        subscribers.removeAll()
        for engine in Array(waiters.keys) { wakeWaiters(engine) }
    }
}

