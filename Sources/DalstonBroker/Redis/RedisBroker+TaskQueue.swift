import DalstonRedis
import Foundation
import Logging

/// Queues: one stream per engine type with a consumer group; `XAUTOCLAIM` redelivers after the
/// visibility timeout; settling is one Lua script (acknowledge, delete, and requeue, dead-letter
/// or announce the outcome).
extension RedisBroker {
    public func enqueue(_ task: TaskEnvelope) async throws(BrokerError) {
        var task = task
        task.enqueuedAt = Date()
        let payload = try MessageCoding.encode(task)
        try await registerEngine(task.engineID)
        try await redis { _ = try await client.send(RedisClient.xaddCommand(keys.taskStream(task.engineID), fields: [("envelope", payload)])) }
    }

    /// Adds the engine to the set of known engines, once per process and engine.
    func registerEngine(_ engine: String) async throws(BrokerError) {
        guard !enginesRegistered.withLock({ $0.contains(engine) }) else { return }
        try await redis { _ = try await client.send(RedisCommand("SADD", RedisArgument(keys.engines), RedisArgument(engine))) }
        enginesRegistered.withLock { _ = $0.insert(engine) }
    }

    /// Puts bytes on a queue as they are: for tools that replay dead letters, and for tests of
    /// undecodable messages.
    public func enqueueRawPayload(_ payload: [UInt8], engine: String) async throws(BrokerError) {
        try await redis {
            let results = try await client.pipeline([
                RedisClient.xaddCommand(keys.taskStream(engine), fields: [("envelope", payload)]),
                RedisCommand("SADD", RedisArgument(keys.engines), RedisArgument(engine)),
            ])
            for case .failure(let error) in results { throw error }
        }
    }

    public func receive(engine: String, consumer: String, waitUpTo: Duration) async throws(BrokerError) -> ReceivedTask? {
        let stream = keys.taskStream(engine)
        let deadline = ContinuousClock.now + waitUpTo
        var retriedClosedConnection = false
        try await ensureGroup(stream)
        while !Task.isCancelled {
            if claimIsDue(engine) {
                let claimed = try await withGroup(stream) {
                    try await self.claimExpired(engine: engine, stream: stream, consumer: consumer)
                }
                if let task = claimed { return task }
                continue
            }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return nil }
            let entries: [RedisStreamEntry]
            do {
                entries = try await client.xreadgroup(
                    group: keys.consumerGroup, consumer: consumer, stream: stream, count: 1, blockFor: min(remaining, claimInterval))
            } catch {
                if Task.isCancelled { return nil }
                switch error {
                case .server(let message) where message.hasPrefix("NOGROUP"):
                    // The server lost the group (it restarted without persistence): make it again.
                    logger.warning("redis_consumer_group_recreated", metadata: ["stream": "\(stream)"])
                    groupsCreated.withLock { _ = $0.remove(stream) }
                    try await ensureGroup(stream)
                    continue
                case .connectionClosed where !retriedClosedConnection:
                    // A pooled connection that died while idle (Redis dropped its clients): the
                    // client reconnects; try once more before reporting the broker unavailable.
                    retriedClosedConnection = true
                    continue
                default:
                    throw .unavailable(error.description)
                }
            }
            guard let entry = entries.first else { continue }
            if let task = try await accept(entry, engine: engine, stream: stream, deliveries: 1, consumer: consumer) { return task }
        }
        return nil
    }

    func claimIsDue(_ engine: String) -> Bool {
        lastClaimCheck.withLock { checks in
            let now = ContinuousClock.now
            guard let last = checks[engine], now - last < claimInterval else {
                checks[engine] = now
                return true
            }
            return false
        }
    }

    /// Takes over one delivery whose consumer did not acknowledge it in time, or dead-letters it
    /// when it has been delivered too often.
    func claimExpired(engine: String, stream: String, consumer: String) async throws(BrokerError) -> ReceivedTask? {
        try await redis { () -> ReceivedTask? in
            let claimed = try await client.xautoclaim(
                stream: stream, group: keys.consumerGroup, consumer: consumer, minIdle: options.visibilityTimeout, count: 1)
            guard let entry = claimed.first else { return nil }
            let pending = try await client.xpending(stream: stream, group: keys.consumerGroup, id: entry.id)
            let deliveries = Int(pending?.deliveries ?? 1)
            if deliveries > options.maximumDeliveries {
                try await moveToDeadLetters(entry: entry, engine: engine, deliveries: deliveries - 1,
                                            reason: "not acknowledged after \(deliveries - 1) deliveries (each worker died or timed out)")
                lastClaimCheck.withLock { $0[engine] = nil }  // look again at once: more may be due
                return nil
            }
            logger.warning("task_redelivered", metadata: ["engine_id": "\(engine)", "deliveries": .stringConvertible(deliveries), "entry": "\(entry.id)"])
            return try await accept(entry, engine: engine, stream: stream, deliveries: deliveries, consumer: consumer)
        }
    }

    /// Decodes a delivered entry; an undecodable one goes to the dead letters (`nil`).
    func accept(_ entry: RedisStreamEntry, engine: String, stream: String, deliveries: Int, consumer: String) async throws(BrokerError) -> ReceivedTask? {
        let payload = entry.fields["envelope"] ?? []
        do {
            let envelope = try MessageCoding.decodeTask(payload)
            return ReceivedTask(envelope: envelope, engine: engine, receipt: entry.id, deliveryCount: deliveries, receivedAt: Date(), consumer: consumer)
        } catch {
            let reason = entry.fields["envelope"] == nil ? "stream entry without an envelope field" : error.description
            try await moveToDeadLetters(entry: entry, engine: engine, deliveries: deliveries, reason: reason)
            return nil
        }
    }

    func moveToDeadLetters(entry: RedisStreamEntry, engine: String, deliveries: Int, reason: String) async throws(BrokerError) {
        let payload = entry.fields["envelope"] ?? []
        var keys = [self.keys.deadLetterStream(engine)]
        var arguments = deadLetterFields(engine: engine, payload: payload, deliveries: deliveries, reason: reason)
        if let task = try? MessageCoding.decodeTask(payload) {
            keys.append(self.keys.events)
            arguments.append(RedisArgument(bytes: try MessageCoding.encode(DeadLetterAnnouncement.event(for: task, reason: reason, deliveries: deliveries))))
        }
        _ = try await settle(engine: engine, receipt: entry.id, script: RedisScripts.Settle.deadLetter, extraKeys: keys, extraArguments: arguments)
        logger.error("task_dead_lettered", metadata: ["engine_id": "\(engine)", "reason": "\(reason)", "deliveries": .stringConvertible(deliveries)])
    }

    func deadLetterFields(engine: String, payload: [UInt8], deliveries: Int, reason: String) -> [RedisArgument] {
        [RedisArgument(Self.deadLetterLimit), RedisArgument(engine), RedisArgument(reason), RedisArgument(bytes: payload),
         RedisArgument(deliveries), RedisArgument(Date().timeIntervalSince1970)]
    }

    public func acknowledge(_ task: ReceivedTask) async throws(BrokerError) {
        guard try await settle(engine: task.engine, receipt: task.receipt, script: RedisScripts.Settle.acknowledge) else {
            throw .unknownDelivery(task.receipt)
        }
    }

    public func renewLease(_ task: ReceivedTask) async throws(BrokerError) {
        let stream = keys.taskStream(task.engine)
        // XCLAIM to the same consumer with min-idle 0 and JUSTID resets the idle time without
        // counting a delivery or moving the entry to another consumer (whose name would then no
        // longer match the worker's when it settles).
        let reply = try await redis {
            try await client.send(RedisCommand(
                "XCLAIM", RedisArgument(stream), RedisArgument(keys.consumerGroup), RedisArgument(task.consumer), 0,
                RedisArgument(task.receipt), "JUSTID"))
        }
        guard reply.elements?.isEmpty == false else { throw .unknownDelivery(task.receipt) }
    }

    public func requeue(_ task: ReceivedTask) async throws(BrokerError) {
        var envelope = task.envelope
        envelope.enqueuedAt = Date()
        let payload = try MessageCoding.encode(envelope)
        guard try await settle(engine: task.engine, receipt: task.receipt, script: RedisScripts.Settle.requeue, extraArguments: [RedisArgument(bytes: payload)]) else {
            throw .unknownDelivery(task.receipt)
        }
    }

    public func deadLetter(_ task: ReceivedTask, reason: String) async throws(BrokerError) {
        let fields = deadLetterFields(engine: task.engine, payload: try MessageCoding.encode(task.envelope), deliveries: task.deliveryCount, reason: reason)
            + [RedisArgument(bytes: try MessageCoding.encode(DeadLetterAnnouncement.event(for: task.envelope, reason: reason, deliveries: task.deliveryCount)))]
        guard try await settle(engine: task.engine, receipt: task.receipt, script: RedisScripts.Settle.deadLetter,
                               extraKeys: [keys.deadLetterStream(task.engine), keys.events], extraArguments: fields) else {
            throw .unknownDelivery(task.receipt)
        }
        logger.error("task_dead_lettered", metadata: ["engine_id": "\(task.engine)", "reason": "\(reason)", "deliveries": .stringConvertible(task.deliveryCount)])
    }

    /// Settles a delivery atomically in one round trip: the script acknowledges the entry and only
    /// if it was still pending deletes it (and re-adds or dead-letters it). `false` when it was
    /// not pending: already settled, or never ours.
    func settle(engine: String, receipt: String, script: String, extraKeys: [String] = [], extraArguments: [RedisArgument] = []) async throws(BrokerError) -> Bool {
        let stream = keys.taskStream(engine)
        let arguments = [RedisArgument(keys.consumerGroup), RedisArgument(receipt)] + extraArguments
        let reply = try await withGroup(stream) { try await self.client.eval(script, keys: [stream] + extraKeys, arguments: arguments) }
        return reply.int == 1
    }

    public func queueStats(engine: String) async throws(BrokerError) -> QueueStats {
        let stream = keys.taskStream(engine)
        return try await withGroup(stream) { () -> QueueStats in
            let results = try await client.pipeline([
                RedisCommand("XLEN", RedisArgument(stream)),
                RedisCommand("XPENDING", RedisArgument(stream), RedisArgument(keys.consumerGroup)),
                RedisCommand("XLEN", RedisArgument(keys.deadLetterStream(engine))),
                RedisCommand("XRANGE", RedisArgument(stream), "-", "+", "COUNT", 1),
            ])
            let replies = try results.map { try $0.get() }
            let length = Int(replies[0].int ?? 0)
            let pending = Int(replies[1].elements?.first?.int ?? 0)
            let oldest = try replies[3].elements?.first.flatMap { try RedisStreamEntry($0) }?.timestampMilliseconds
            return QueueStats(
                waiting: max(0, length - pending), inFlight: pending, deadLettered: Int(replies[2].int ?? 0),
                oldestAge: oldest.map { max(0, Date().timeIntervalSince1970 - Double($0) / 1000) })
        }
    }

    public func deadLetters(engine: String, limit: Int) async throws(BrokerError) -> [DeadLetter] {
        try await redis { () -> [DeadLetter] in
            let reply = try await client.send(RedisCommand("XREVRANGE", RedisArgument(keys.deadLetterStream(engine)), "+", "-", "COUNT", RedisArgument(limit)))
            var letters: [DeadLetter] = []
            for item in reply.elements ?? [] {
                guard let entry = try RedisStreamEntry(item) else { continue }
                letters.append(DeadLetter(
                    engine: entry.string("engine") ?? engine, reason: entry.string("reason") ?? "",
                    payload: entry.fields["payload"] ?? [], deliveries: Int(entry.string("deliveries") ?? "") ?? 0,
                    failedAt: Date(timeIntervalSince1970: Double(entry.string("failed_at") ?? "") ?? 0)))
            }
            return letters.reversed()
        }
    }

    public func knownEngines() async throws(BrokerError) -> [String] {
        try await redis { try await client.send(RedisCommand("SMEMBERS", RedisArgument(keys.engines))) }
            .elements?.compactMap(\.string).sorted() ?? []
    }

    /// Runs `body`, which needs the consumer group of `stream`. If the server lost the group (it
    /// restarted without persistence), the group is made again and `body` runs once more.
    func withGroup<Result>(_ stream: String, _ body: () async throws -> Result) async throws(BrokerError) -> Result {
        try await ensureGroup(stream)
        do {
            return try await redis(body)
        } catch .unavailable(let reason) where reason.contains("NOGROUP") {
            logger.warning("redis_consumer_group_recreated", metadata: ["stream": "\(stream)"])
            groupsCreated.withLock { _ = $0.remove(stream) }
            try await ensureGroup(stream)
            return try await redis(body)
        }
    }

    func ensureGroup(_ stream: String) async throws(BrokerError) {
        guard !groupsCreated.withLock({ $0.contains(stream) }) else { return }
        try await redis { try await client.xgroupCreate(stream, group: keys.consumerGroup) }
        groupsCreated.withLock { _ = $0.insert(stream) }
    }
}
