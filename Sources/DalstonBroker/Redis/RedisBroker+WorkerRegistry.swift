import DalstonCore
import DalstonRedis
import Foundation
import Logging

/// Workers: one hash of worker id → heartbeat JSON.
extension RedisBroker {
    // MARK: Workers

    public func heartbeat(_ worker: WorkerHeartbeat) async throws(BrokerError) {
        let payload = try MessageCoding.encode(worker)
        try await redis { try await client.hset(keys.workers, [worker.workerID: String(decoding: payload, as: UTF8.self)]) }
    }

    public func liveWorkers() async throws(BrokerError) -> [WorkerHeartbeat] {
        let entries = try await redis { try await client.hgetall(keys.workers) }
        let cutoff = Date().addingTimeInterval(-options.workerTimeout.seconds)
        var live: [WorkerHeartbeat] = []
        var gone: [String] = []
        for (workerID, json) in entries {
            guard let worker = try? MessageCoding.decodeHeartbeat(Array(json.utf8)) else {
                gone.append(workerID)
                continue
            }
            if worker.lastSeen >= cutoff {
                live.append(worker)
            } else if worker.lastSeen < cutoff.addingTimeInterval(-10 * options.workerTimeout.seconds) {
                gone.append(workerID)  // long dead: forget it
            }
        }
        if !gone.isEmpty {
            _ = try? await client.send(RedisCommand("HDEL", [RedisArgument(keys.workers)] + gone.map { RedisArgument($0) }))
        }
        return live.sorted { $0.workerID < $1.workerID }
    }
}
