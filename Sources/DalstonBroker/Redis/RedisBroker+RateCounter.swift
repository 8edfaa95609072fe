import DalstonRedis

/// Rate counters: one Redis key per counter and window, `INCR` and its expiry in one script.
extension RedisBroker {
    public func hit(_ name: String, window: Duration) async throws(BrokerError) -> WindowCount {
        let milliseconds = max(1, Int(window.seconds * 1000))
        let reply = try await redis {
            try await client.eval(RedisScripts.rateCounterHit, keys: [keys.rateCounter(name)], arguments: [RedisArgument(String(milliseconds))])
        }
        guard let elements = reply.elements, elements.count == 2, let count = elements[0].int, let left = elements[1].int else {
            throw .unavailable("unexpected reply to the rate counter script: \(reply)")
        }
        return WindowCount(count: Int(count), resetsIn: .milliseconds(left))
    }
}
