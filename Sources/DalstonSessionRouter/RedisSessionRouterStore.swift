package import DalstonRedis
package import Foundation

/// The router's state in Redis, shared by every gateway:
///
/// - `{prefix}:rt:workers` (set) and `{prefix}:rt:worker:{id}` (hash: endpoint, capacity,
///   active, status, heartbeat_ms, models, metrics_endpoint, reserved);
/// - `{prefix}:rt:session:{id}` (hash: worker, key, started_ms), `{prefix}:rt:lease:{id}`
///   (expiring key), `{prefix}:rt:active` (set of reserved session ids);
/// - `{prefix}:rt:key:{key}` (count of the client key's open sessions).
///
/// Allocation, release and reconciliation are Lua scripts, so concurrent gateways never
/// over-commit a worker or a key's limit. (Keys are derived inside the scripts: standalone or
/// replicated Redis, not Redis Cluster.)
package struct RedisSessionRouterStore: SessionRouterStore {
    let client: RedisClient
    let prefix: String

    package init(client: RedisClient, prefix: String = "dalston") {
        self.client = client
        self.prefix = prefix
    }

    private var workersKey: String { "\(prefix):rt:workers" }
    private func workerKey(_ id: String) -> String { "\(prefix):rt:worker:\(id)" }

    private func run<Result>(_ body: () async throws(RedisError) -> Result) async throws(SessionRouterUnavailable) -> Result {
        do {
            return try await body()
        } catch {
            throw SessionRouterUnavailable("the session router's Redis is unavailable: \(error.description)")
        }
    }

    package func announce(_ worker: RealtimeWorkerInfo) async throws(SessionRouterUnavailable) {
        let models = String(decoding: (try? JSONEncoder().encode(worker.models)) ?? Data("[]".utf8), as: UTF8.self)
        let fields: [(String, String)] = [
            ("endpoint", worker.endpoint), ("capacity", String(worker.capacity)), ("active", String(worker.active)), ("status", worker.status),
            ("heartbeat_ms", String(Self.milliseconds(worker.lastHeartbeat))), ("models", models),
            ("metrics_endpoint", worker.metricsEndpoint ?? ""),
        ]
        try await run { () async throws(RedisError) in
            _ = try await client.pipeline([
                RedisCommand("HSET", [RedisArgument(workerKey(worker.workerID))] + fields.flatMap { [RedisArgument($0.0), RedisArgument($0.1)] }),
                RedisCommand("HSETNX", RedisArgument(workerKey(worker.workerID)), "reserved", "0"),
                RedisCommand("SADD", RedisArgument(workersKey), RedisArgument(worker.workerID)),
            ]).map { result throws(RedisError) in try result.get() }
        }
    }

    package func withdraw(workerID: String) async throws(SessionRouterUnavailable) {
        try await run { () async throws(RedisError) in
            _ = try await client.pipeline([
                RedisCommand("DEL", RedisArgument(workerKey(workerID))), RedisCommand("SREM", RedisArgument(workersKey), RedisArgument(workerID)),
            ]).map { result throws(RedisError) in try result.get() }
        }
    }

    package func allocate(
        sessionID: String, clientKey: String, keyLimit: Int, model: String, excluding: Set<String>, now: Date, staleAfter: TimeInterval, lease: TimeInterval
    ) async throws(SessionRouterUnavailable) -> AllocationOutcome {
        let reply = try await run { () async throws(RedisError) in
            try await client.eval(Self.allocateScript, keys: [workersKey], arguments: [
                RedisArgument(prefix), RedisArgument(String(Self.milliseconds(now))), RedisArgument(String(Int(staleAfter * 1000))),
                RedisArgument(sessionID), RedisArgument(clientKey), RedisArgument(String(keyLimit)), RedisArgument(String(max(1, Int(lease * 1000)))),
                RedisArgument(excluding.sorted().joined(separator: ",")), RedisArgument(model),
            ])
        }
        let parts = reply.elements?.compactMap(\.string) ?? []
        switch parts.first {
        case "ok" where parts.count == 3:
            return .allocated(SessionAllocation(sessionID: sessionID, workerID: parts[1], endpoint: parts[2]))
        case "key_limit": return .keyLimitReached(limit: keyLimit)
        case "no_capacity": return .noCapacity
        default: throw SessionRouterUnavailable("the session router's Redis answered an allocation with \(reply)")
        }
    }

    @discardableResult
    package func release(sessionID: String) async throws(SessionRouterUnavailable) -> Bool {
        let reply = try await run { () async throws(RedisError) in
            try await client.eval(Self.releaseScript, keys: [], arguments: [RedisArgument(prefix), RedisArgument(sessionID)])
        }
        return reply.int == 1
    }

    package func renew(sessionID: String, lease: TimeInterval) async throws(SessionRouterUnavailable) {
        try await run { () async throws(RedisError) in
            _ = try await client.send(RedisCommand("PEXPIRE", RedisArgument("\(prefix):rt:lease:\(sessionID)"), RedisArgument(String(max(1, Int(lease * 1000))))))
        }
    }

    package func workers() async throws(SessionRouterUnavailable) -> [RealtimeWorkerInfo] {
        try await run { () async throws(RedisError) in
            let ids = try await client.send(RedisCommand("SMEMBERS", RedisArgument(workersKey))).elements?.compactMap(\.string) ?? []
            var workers: [RealtimeWorkerInfo] = []
            for id in ids.sorted() {
                let fields = try await client.hgetall(workerKey(id))
                guard let endpoint = fields["endpoint"], let capacity = fields["capacity"].flatMap(Int.init) else { continue }
                workers.append(RealtimeWorkerInfo(
                    workerID: id, endpoint: endpoint, capacity: capacity, active: fields["active"].flatMap(Int.init) ?? 0,
                    reserved: fields["reserved"].flatMap(Int.init) ?? 0, status: fields["status"] ?? "ready",
                    lastHeartbeat: Date(timeIntervalSince1970: (fields["heartbeat_ms"].flatMap(Double.init) ?? 0) / 1000),
                    models: fields["models"].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? [],
                    metricsEndpoint: fields["metrics_endpoint"].flatMap { $0.isEmpty ? nil : $0 }))
            }
            return workers
        }
    }

    package func markOffline(workerID: String) async throws(SessionRouterUnavailable) {
        try await run { () async throws(RedisError) in
            _ = try await client.eval(
                "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'status', 'offline') end return 1",
                keys: [workerKey(workerID)])
        }
    }

    package func reconcile(now: Date, staleAfter: TimeInterval) async throws(SessionRouterUnavailable) -> ReconcileReport {
        let reply = try await run { () async throws(RedisError) in
            try await client.eval(Self.reconcileScript, keys: [workersKey], arguments: [
                RedisArgument(prefix), RedisArgument(String(Self.milliseconds(now))), RedisArgument(String(Int(staleAfter * 1000))),
            ])
        }
        let lists = reply.elements ?? []
        func strings(_ index: Int) -> [String] { lists.count > index ? (lists[index].elements?.compactMap(\.string) ?? []).sorted() : [] }
        return ReconcileReport(releasedSessions: strings(0), workersMarkedOffline: strings(1))
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    // MARK: Scripts

    /// Shared by release and reconcile: gives back a session's slot and key count.
    static let releaseFunction = """
        local function release(prefix, sid)
          local s = redis.call('HMGET', prefix .. ':rt:session:' .. sid, 'worker', 'key')
          redis.call('SREM', prefix .. ':rt:active', sid)
          redis.call('DEL', prefix .. ':rt:lease:' .. sid)
          if not s[1] then return 0 end
          local wkey = prefix .. ':rt:worker:' .. s[1]
          if redis.call('EXISTS', wkey) == 1 then
            if redis.call('HINCRBY', wkey, 'reserved', -1) < 0 then redis.call('HSET', wkey, 'reserved', 0) end
          end
          local kkey = prefix .. ':rt:key:' .. s[2]
          if redis.call('DECR', kkey) <= 0 then redis.call('DEL', kkey) end
          redis.call('DEL', prefix .. ':rt:session:' .. sid)
          return 1
        end
        """

    static let allocateScript = """
        local prefix = ARGV[1]
        local now = tonumber(ARGV[2])
        local stale = tonumber(ARGV[3])
        local sid, ckey, limit, lease = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
        local excluded = {}
        for id in string.gmatch(ARGV[8], '[^,]+') do excluded[id] = true end
        local model = ARGV[9] or ''
        -- Whether a worker's models (a JSON list; empty: it did not say) include the session's.
        local function streams(models)
          if model == '' then return true end
          local ok, list = pcall(cjson.decode, models or '[]')
          if not ok or type(list) ~= 'table' or #list == 0 then return true end
          for _, name in ipairs(list) do if name == model then return true end end
          return false
        end
        local kkey = prefix .. ':rt:key:' .. ckey
        if limit > 0 and tonumber(redis.call('GET', kkey) or '0') >= limit then return {'key_limit'} end
        local best, bestFree, bestEndpoint = nil, 0, nil
        local ids = redis.call('SMEMBERS', KEYS[1])
        table.sort(ids)
        for _, id in ipairs(ids) do
          if not excluded[id] then
            local w = redis.call('HMGET', prefix .. ':rt:worker:' .. id, 'capacity', 'reserved', 'heartbeat_ms', 'status', 'endpoint', 'models')
            local cap, res, hb = tonumber(w[1]), tonumber(w[2] or '0') or 0, tonumber(w[3])
            if cap and hb and w[5] and now - hb <= stale and w[4] ~= 'draining' and w[4] ~= 'offline' and cap - res > bestFree and streams(w[6]) then
              best, bestFree, bestEndpoint = id, cap - res, w[5]
            end
          end
        end
        if not best then return {'no_capacity'} end
        redis.call('HINCRBY', prefix .. ':rt:worker:' .. best, 'reserved', 1)
        redis.call('INCR', kkey)
        redis.call('HSET', prefix .. ':rt:session:' .. sid, 'worker', best, 'key', ckey, 'started_ms', ARGV[2])
        redis.call('SADD', prefix .. ':rt:active', sid)
        redis.call('SET', prefix .. ':rt:lease:' .. sid, '1', 'PX', lease)
        return {'ok', best, bestEndpoint}
        """

    static let releaseScript = releaseFunction + "\nreturn release(ARGV[1], ARGV[2])\n"

    static let reconcileScript = releaseFunction + """

        local prefix, now, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
        local released, offline = {}, {}
        for _, sid in ipairs(redis.call('SMEMBERS', prefix .. ':rt:active')) do
          if redis.call('EXISTS', prefix .. ':rt:lease:' .. sid) == 0 then
            release(prefix, sid)
            table.insert(released, sid)
          end
        end
        for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local wkey = prefix .. ':rt:worker:' .. id
          local w = redis.call('HMGET', wkey, 'heartbeat_ms', 'status')
          local hb = tonumber(w[1])
          if not hb or now - hb > 10 * stale then
            redis.call('DEL', wkey)
            redis.call('SREM', KEYS[1], id)
          elseif now - hb > stale and w[2] ~= 'offline' then
            redis.call('HSET', wkey, 'status', 'offline')
            table.insert(offline, id)
          end
        end
        return {released, offline}
        """
}
