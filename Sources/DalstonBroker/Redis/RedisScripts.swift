/// The Lua scripts the Redis broker runs: each is one atomic step on the server and one round trip.
enum RedisScripts {
    /// Settling a delivery. KEYS[1] is the task stream; ARGV[1] the group, ARGV[2] the entry id.
    /// Each returns 1 when the entry was pending (and is now settled), else 0 (already settled,
    /// or never ours), and then does nothing else.
    enum Settle {
        static let acknowledge = """
            if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
            redis.call('XDEL', KEYS[1], ARGV[2])
            return 1
            """
        /// ARGV[3]: the envelope to put back on the queue.
        static let requeue = """
            if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
            redis.call('XDEL', KEYS[1], ARGV[2])
            redis.call('XADD', KEYS[1], '*', 'envelope', ARGV[3])
            return 1
            """
        /// KEYS[2]: the dead-letter stream; ARGV[3..8]: max length, engine, reason, payload,
        /// deliveries, failed_at. KEYS[3] and ARGV[9] (optional): the events channel and the
        /// `task_dead_lettered` announcement.
        static let deadLetter = """
            if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
            redis.call('XDEL', KEYS[1], ARGV[2])
            redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'engine', ARGV[4], 'reason', ARGV[5],
                'payload', ARGV[6], 'deliveries', ARGV[7], 'failed_at', ARGV[8])
            if KEYS[3] then redis.call('PUBLISH', KEYS[3], ARGV[9]) end
            return 1
            """
    }

    /// `RateCounter.hit`: KEYS[1] the counter, ARGV[1] the window in milliseconds. The first hit
    /// starts the window (a counter left without expiry, which should not happen, gets one).
    /// Returns the count and the milliseconds left.
    static let rateCounterHit = """
        local count = redis.call('INCR', KEYS[1])
        local left = redis.call('PTTL', KEYS[1])
        if count == 1 or left < 0 then
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            left = tonumber(ARGV[1])
        end
        return {count, left}
        """

    /// `StateStore.transition`: a conditional change of one hash and its effects.
    ///
    /// KEYS[1] is the record; KEYS[2...] the keys of the effects, one each, in order.
    /// ARGV: the number of conditions, then per condition the field, the number of allowed values
    /// and the values (`""` = absent); the number of fields to set, then field/value pairs; the
    /// number of effects, then per effect its kind and arguments (`xack` group entry consumer, `xadd`
    /// payload, `publish` payload, `zadd` score member, `zrem` member); last `1` to return the
    /// record. Acknowledgements run first: one whose entry is no longer pending for that consumer
    /// (settled, or redelivered to another after its lease ran out) stops the transition before
    /// anything is written. Returns `{applied (0/1), field, value, ...}`.
    static let transition = """
        local i = 1
        local function arg() local value = ARGV[i]; i = i + 1; return value end
        local fields, allowed = {}, {}
        for c = 1, tonumber(arg()) do
            fields[c] = arg()
            local values = {}
            for v = 1, tonumber(arg()) do values[arg()] = true end
            allowed[c] = values
        end
        local set = {}
        for f = 1, tonumber(arg()) * 2 do set[f] = arg() end
        local effects = {}
        for e = 1, tonumber(arg()) do
            local kind = arg()
            if kind ~= 'xack' and kind ~= 'xadd' and kind ~= 'publish' and kind ~= 'zadd' and kind ~= 'zrem' then
                return redis.error_reply('unknown effect ' .. tostring(kind))
            end
            local effect = {kind = kind, key = KEYS[1 + e], a = arg()}
            if kind == 'zadd' or kind == 'xack' then effect.b = arg() end
            if kind == 'xack' then effect.c = arg() end
            effects[e] = effect
        end
        local wantsRecord = arg() == '1'
        local function reply(applied)
            local out = {applied}
            if wantsRecord then
                local record = redis.call('HGETALL', KEYS[1])
                for r = 1, #record do out[r + 1] = record[r] end
            end
            return out
        end
        if #fields > 0 then
            local current = redis.call('HMGET', KEYS[1], unpack(fields))
            for c = 1, #fields do
                if not allowed[c][current[c] or ''] then return reply(0) end
            end
        end
        for _, effect in ipairs(effects) do
            if effect.kind == 'xack' then
                if #redis.call('XPENDING', effect.key, effect.a, effect.b, effect.b, 1, effect.c) == 0 then return reply(0) end
                if redis.call('XACK', effect.key, effect.a, effect.b) == 0 then return reply(0) end
                redis.call('XDEL', effect.key, effect.b)
            end
        end
        if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
        for _, effect in ipairs(effects) do
            if effect.kind == 'xadd' then redis.call('XADD', effect.key, '*', 'envelope', effect.a)
            elseif effect.kind == 'publish' then redis.call('PUBLISH', effect.key, effect.a)
            elseif effect.kind == 'zadd' then redis.call('ZADD', effect.key, effect.a, effect.b)
            elseif effect.kind == 'zrem' then redis.call('ZREM', effect.key, effect.a) end
        end
        return reply(1)
        """
}
