/// One entry of a Redis stream.
public struct RedisStreamEntry: Sendable, Equatable {
    public let id: String
    public let fields: [String: [UInt8]]

    public func string(_ field: String) -> String? {
        fields[field].map { String(decoding: $0, as: UTF8.self) }
    }

    /// Milliseconds since the epoch at which the entry was added (the first part of its id).
    public var timestampMilliseconds: Int64? {
        id.split(separator: "-").first.flatMap { Int64($0) }
    }

    /// Parses `[id, [field, value, ...]]`; `nil` for a deleted entry (whose fields are null).
    public init?(_ value: RESPValue) throws(RedisError) {
        guard let parts = value.elements, parts.count == 2, let id = parts[0].string else {
            throw .unexpectedReply(command: "stream entry", reply: "\(value)")
        }
        guard let flat = parts[1].elements else { return nil }
        guard flat.count % 2 == 0 else { throw .unexpectedReply(command: "stream entry", reply: "odd field count") }
        var fields: [String: [UInt8]] = [:]
        var index = 0
        while index < flat.count {
            guard let key = flat[index].string, let bytes = flat[index + 1].bytes else {
                throw .unexpectedReply(command: "stream entry", reply: "non-string field")
            }
            fields[key] = bytes
            index += 2
        }
        self.id = id
        self.fields = fields
    }
}

/// One entry of a consumer group's pending list (`XPENDING` extended form).
public struct RedisPendingEntry: Sendable, Equatable {
    public let id: String
    public let consumer: String
    public let idleMilliseconds: Int64
    public let deliveries: Int64
}

extension RedisClient {
    public func ping() async throws(RedisError) {
        let reply = try await send(RedisCommand("PING"))
        guard reply.string == "PONG" else { throw .unexpectedReply(command: "PING", reply: "\(reply)") }
    }

    public func get(_ key: String) async throws(RedisError) -> [UInt8]? {
        try await send(RedisCommand("GET", RedisArgument(key))).bytes
    }

    /// `SET key value [PX ms]`.
    public func set(_ key: String, _ value: [UInt8], expiresIn: Duration? = nil) async throws(RedisError) {
        var arguments: [RedisArgument] = [RedisArgument(key), RedisArgument(bytes: value)]
        if let expiresIn { arguments += ["PX", RedisArgument(Int(expiresIn.seconds * 1000))] }
        try await send(RedisCommand("SET", arguments))
    }

    public func set(_ key: String, _ value: String, expiresIn: Duration? = nil) async throws(RedisError) {
        try await set(key, Array(value.utf8), expiresIn: expiresIn)
    }

    @discardableResult
    public func delete(_ keys: [String]) async throws(RedisError) -> Int {
        guard !keys.isEmpty else { return 0 }
        return Int(try await send(RedisCommand("DEL", keys.map { RedisArgument($0) })).int ?? 0)
    }

    @discardableResult
    public func expire(_ key: String, after duration: Duration) async throws(RedisError) -> Bool {
        try await send(RedisCommand("PEXPIRE", RedisArgument(key), RedisArgument(Int(duration.seconds * 1000)))).int == 1
    }

    public func hset(_ key: String, _ fields: [String: String]) async throws(RedisError) {
        guard !fields.isEmpty else { return }
        var arguments = [RedisArgument(key)]
        for (field, value) in fields.sorted(by: { $0.key < $1.key }) {
            arguments.append(RedisArgument(field))
            arguments.append(RedisArgument(value))
        }
        try await send(RedisCommand("HSET", arguments))
    }

    public func hgetall(_ key: String) async throws(RedisError) -> [String: String] {
        let reply = try await send(RedisCommand("HGETALL", RedisArgument(key)))
        guard let fields = reply.stringDictionary else { throw .unexpectedReply(command: "HGETALL", reply: "\(reply)") }
        return fields
    }

    public func hincrby(_ key: String, field: String, by amount: Int) async throws(RedisError) -> Int64 {
        let reply = try await send(RedisCommand("HINCRBY", RedisArgument(key), RedisArgument(field), RedisArgument(amount)))
        guard let value = reply.int else { throw .unexpectedReply(command: "HINCRBY", reply: "\(reply)") }
        return value
    }

    @discardableResult
    public func publish(_ channel: String, _ payload: [UInt8]) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("PUBLISH", RedisArgument(channel), RedisArgument(bytes: payload))).int ?? 0)
    }

    public func lpush(_ key: String, _ values: [[UInt8]]) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("LPUSH", [RedisArgument(key)] + values.map(RedisArgument.init(bytes:)))).int ?? 0)
    }

    public func llen(_ key: String) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("LLEN", RedisArgument(key))).int ?? 0)
    }

    // MARK: Streams

    /// `XADD key * field value ...`; returns the new entry id.
    @discardableResult
    public func xadd(_ stream: String, fields: [(String, [UInt8])]) async throws(RedisError) -> String {
        let reply = try await send(Self.xaddCommand(stream, fields: fields))
        guard let id = reply.string else { throw .unexpectedReply(command: "XADD", reply: "\(reply)") }
        return id
    }

    public static func xaddCommand(_ stream: String, fields: [(String, [UInt8])]) -> RedisCommand {
        var arguments: [RedisArgument] = [RedisArgument(stream), "*"]
        for (field, value) in fields {
            arguments.append(RedisArgument(field))
            arguments.append(RedisArgument(bytes: value))
        }
        return RedisCommand("XADD", arguments)
    }

    /// `XGROUP CREATE stream group 0 MKSTREAM`, tolerating an existing group.
    public func xgroupCreate(_ stream: String, group: String) async throws(RedisError) {
        do {
            try await send(RedisCommand("XGROUP", "CREATE", RedisArgument(stream), RedisArgument(group), "0", "MKSTREAM"))
        } catch .server(let message) where message.hasPrefix("BUSYGROUP") {
            return
        }
    }

    /// `XREADGROUP GROUP g c COUNT n BLOCK ms STREAMS s >`: new entries for this consumer, or none
    /// after `blockFor`.
    public func xreadgroup(group: String, consumer: String, stream: String, count: Int, blockFor: Duration) async throws(RedisError) -> [RedisStreamEntry] {
        let milliseconds = max(1, Int(blockFor.seconds * 1000))
        let reply = try await sendBlocking(RedisCommand(
            "XREADGROUP", "GROUP", RedisArgument(group), RedisArgument(consumer), "COUNT", RedisArgument(count),
            "BLOCK", RedisArgument(milliseconds), "STREAMS", RedisArgument(stream), ">"), blockFor: blockFor)
        if reply.isNull { return [] }
        guard let streams = reply.elements ?? reply.mapValuesAsStreams else {
            throw .unexpectedReply(command: "XREADGROUP", reply: "\(reply)")
        }
        var entries: [RedisStreamEntry] = []
        for streamReply in streams {
            guard let parts = streamReply.elements, parts.count == 2, let items = parts[1].elements else {
                throw .unexpectedReply(command: "XREADGROUP", reply: "\(streamReply)")
            }
            for item in items {
                if let entry = try RedisStreamEntry(item) { entries.append(entry) }
            }
        }
        return entries
    }

    /// `XAUTOCLAIM`: takes over entries idle longer than `minIdle` from dead or stuck consumers.
    public func xautoclaim(stream: String, group: String, consumer: String, minIdle: Duration, count: Int) async throws(RedisError) -> [RedisStreamEntry] {
        let reply = try await send(RedisCommand(
            "XAUTOCLAIM", RedisArgument(stream), RedisArgument(group), RedisArgument(consumer),
            RedisArgument(Int(minIdle.seconds * 1000)), "0-0", "COUNT", RedisArgument(count)))
        guard let parts = reply.elements, parts.count >= 2, let items = parts[1].elements else {
            throw .unexpectedReply(command: "XAUTOCLAIM", reply: "\(reply)")
        }
        var entries: [RedisStreamEntry] = []
        for item in items where !item.isNull {
            if let entry = try RedisStreamEntry(item) { entries.append(entry) }
        }
        return entries
    }

    /// `XACK`: how many of `ids` were pending and are now acknowledged.
    @discardableResult
    public func xack(stream: String, group: String, ids: [String]) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("XACK", [RedisArgument(stream), RedisArgument(group)] + ids.map { RedisArgument($0) })).int ?? 0)
    }

    /// `EVAL script numkeys keys... args...`: runs a Lua script atomically on the server.
    public func eval(_ script: String, keys: [String], arguments: [RedisArgument] = []) async throws(RedisError) -> RESPValue {
        try await send(RedisCommand("EVAL", [RedisArgument(script), RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments))
    }

    /// The pending-list entry for one id (its consumer, idle time and delivery count).
    public func xpending(stream: String, group: String, id: String) async throws(RedisError) -> RedisPendingEntry? {
        let reply = try await send(RedisCommand("XPENDING", RedisArgument(stream), RedisArgument(group), RedisArgument(id), RedisArgument(id), 1))
        guard let rows = reply.elements else { throw .unexpectedReply(command: "XPENDING", reply: "\(reply)") }
        guard let row = rows.first?.elements, row.count == 4, let entryID = row[0].string, let consumer = row[1].string,
              let idle = row[2].int, let deliveries = row[3].int
        else { return nil }
        return RedisPendingEntry(id: entryID, consumer: consumer, idleMilliseconds: idle, deliveries: deliveries)
    }

    /// How many entries of the group are delivered but not acknowledged.
    public func xpendingCount(stream: String, group: String) async throws(RedisError) -> Int {
        let reply = try await send(RedisCommand("XPENDING", RedisArgument(stream), RedisArgument(group)))
        return Int(reply.elements?.first?.int ?? 0)
    }

    public func xlen(_ stream: String) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("XLEN", RedisArgument(stream))).int ?? 0)
    }

    /// The first `count` entries of a stream, oldest first.
    public func xrange(_ stream: String, count: Int) async throws(RedisError) -> [RedisStreamEntry] {
        let reply = try await send(RedisCommand("XRANGE", RedisArgument(stream), "-", "+", "COUNT", RedisArgument(count)))
        guard let items = reply.elements else { throw .unexpectedReply(command: "XRANGE", reply: "\(reply)") }
        var entries: [RedisStreamEntry] = []
        for item in items {
            if let entry = try RedisStreamEntry(item) { entries.append(entry) }
        }
        return entries
    }

    // MARK: Sorted sets, keys, server

    public func zadd(_ key: String, member: String, score: Double) async throws(RedisError) {
        try await send(RedisCommand("ZADD", RedisArgument(key), RedisArgument(score), RedisArgument(member)))
    }

    public func zcard(_ key: String) async throws(RedisError) -> Int {
        Int(try await send(RedisCommand("ZCARD", RedisArgument(key))).int ?? 0)
    }

    /// Members with the highest scores first.
    public func zrevrange(_ key: String, count: Int) async throws(RedisError) -> [String] {
        let reply = try await send(RedisCommand("ZRANGE", RedisArgument(key), 0, RedisArgument(count - 1), "REV"))
        return reply.elements?.compactMap(\.string) ?? []
    }

    /// Every key matching `pattern`, walked with `SCAN` (never `KEYS`, which blocks the server).
    public func scan(match pattern: String, batch: Int = 500) async throws(RedisError) -> [String] {
        var cursor = "0"
        var keys: [String] = []
        repeat {
            let reply = try await send(RedisCommand("SCAN", RedisArgument(cursor), "MATCH", RedisArgument(pattern), "COUNT", RedisArgument(batch)))
            guard let parts = reply.elements, parts.count == 2, let next = parts[0].string, let batchKeys = parts[1].elements else {
                throw .unexpectedReply(command: "SCAN", reply: "\(reply)")
            }
            keys += batchKeys.compactMap(\.string)
            cursor = next
        } while cursor != "0"
        return keys
    }

    /// `INFO [section]` parsed into `field: value`.
    public func info(_ section: String? = nil) async throws(RedisError) -> [String: String] {
        let reply = try await send(RedisCommand("INFO", section.map { [RedisArgument($0)] } ?? []))
        guard let text = reply.string else { throw .unexpectedReply(command: "INFO", reply: "\(reply)") }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            if let colon = line.firstIndex(of: ":") {
                fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
            }
        }
        return fields
    }
}

extension RESPValue {
    /// RESP3 returns XREADGROUP as a map of stream name to entries; turn it into RESP2's shape.
    fileprivate var mapValuesAsStreams: [RESPValue]? {
        guard case .map(let entries) = self else { return nil }
        return entries.map { .array([$0.key, $0.value]) }
    }
}
