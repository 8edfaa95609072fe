import DalstonRedis
import Foundation
import Logging

/// State: one hash per record, sorted sets for indexes, and `transition` as one Lua script.
extension RedisBroker {
    public func record(_ key: StateKey) async throws(BrokerError) -> [String: String] {
        try await redis { try await client.hgetall(keys.state(key)) }
    }

    public func saveRecord(_ key: StateKey, fields: [String: String]) async throws(BrokerError) {
        try await redis { try await client.hset(keys.state(key), fields) }
    }

    public func deleteRecord(_ key: StateKey) async throws(BrokerError) {
        try await redis { _ = try await client.delete([keys.state(key)]) }
    }

    public func transition(_ transition: StateTransition) async throws(BrokerError) -> TransitionResult {
        var scriptKeys = [keys.state(transition.key)]
        var arguments: [RedisArgument] = [RedisArgument(transition.conditions.count)]
        for (field, allowed) in transition.conditions.sorted(by: { $0.key < $1.key }) {
            arguments.append(RedisArgument(field))
            arguments.append(RedisArgument(allowed.count))
            arguments += allowed.sorted().map { RedisArgument($0) }
        }
        arguments.append(RedisArgument(transition.fields.count))
        for (field, value) in transition.fields.sorted(by: { $0.key < $1.key }) {
            arguments += [RedisArgument(field), RedisArgument(value)]
        }
        arguments.append(RedisArgument(transition.effects.count))
        var enqueuedEngines: [String] = []
        for effect in transition.effects {
            switch effect {
            case .acknowledge(let task):
                scriptKeys.append(keys.taskStream(task.engine))
                arguments += [RedisArgument("xack"), RedisArgument(keys.consumerGroup), RedisArgument(task.receipt), RedisArgument(task.consumer)]
            case .enqueue(var task):
                task.enqueuedAt = Date()
                scriptKeys.append(keys.taskStream(task.engineID))
                arguments += [RedisArgument("xadd"), RedisArgument(bytes: try MessageCoding.encode(task))]
                enqueuedEngines.append(task.engineID)
            case .publish(let event):
                scriptKeys.append(keys.events)
                arguments += [RedisArgument("publish"), RedisArgument(bytes: try MessageCoding.encode(event))]
            case .addToIndex(let index, let member, let score):
                scriptKeys.append(keys.index(index))
                arguments += [RedisArgument("zadd"), RedisArgument(score), RedisArgument(member)]
            case .removeFromIndex(let index, let member):
                scriptKeys.append(keys.index(index))
                arguments += [RedisArgument("zrem"), RedisArgument(member)]
            }
        }
        arguments.append(RedisArgument(transition.returnsRecord ? "1" : "0"))
        for engine in enqueuedEngines { try await registerEngine(engine) }
        let reply = try await redis { try await client.eval(RedisScripts.transition, keys: scriptKeys, arguments: arguments) }
        guard let elements = reply.elements, let applied = elements.first?.int else {
            throw .unavailable("unexpected reply to the state transition script: \(reply)")
        }
        var record: [String: String] = [:]
        var index = 1
        while index + 1 < elements.count {
            if let field = elements[index].string, let value = elements[index + 1].string { record[field] = value }
            index += 2
        }
        return TransitionResult(applied: applied == 1, record: record)
    }

    public func indexEntries(_ index: String, limit: Int, maximumScore: Double?) async throws(BrokerError) -> [IndexEntry] {
        let maximum = maximumScore.map { RedisArgument($0) } ?? "+inf"
        let reply = try await redis {
            try await client.send(RedisCommand(
                "ZRANGE", RedisArgument(keys.index(index)), maximum, "-inf", "BYSCORE", "REV", "LIMIT", 0, RedisArgument(limit), "WITHSCORES"))
        }
        // RESP3 answers [member, score] pairs; RESP2 a flat member, score, member, score list.
        let elements = reply.elements ?? []
        let pairs: [(RESPValue, RESPValue)] = elements.allSatisfy({ $0.elements?.count == 2 })
            ? elements.compactMap { pair in pair.elements.map { ($0[0], $0[1]) } }
            : stride(from: 0, to: elements.count - 1, by: 2).map { (elements[$0], elements[$0 + 1]) }
        return pairs.compactMap { member, score in
            guard let name = member.string else { return nil }
            let value: Double? = if case .double(let number) = score { number } else { score.string.flatMap(Double.init) }
            return value.map { IndexEntry(member: name, score: $0) }
        }
    }

    public func removeFromIndex(_ index: String, member: String) async throws(BrokerError) {
        try await redis { try await client.send(RedisCommand("ZREM", RedisArgument(keys.index(index)), RedisArgument(member))) }
    }

    public func indexCount(_ index: String) async throws(BrokerError) -> Int {
        try await redis { try await client.zcard(keys.index(index)) }
    }
}
