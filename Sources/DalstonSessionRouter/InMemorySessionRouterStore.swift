package import Foundation
import Synchronization

/// The router's state in this process (`dalston up` without Redis): the same rules as the
/// Redis store, under one lock.
package final class InMemorySessionRouterStore: SessionRouterStore {
    private struct Reservation {
        var workerID: String
        var clientKey: String
        var leaseUntil: Date
    }

    private struct State {
        var workers: [String: RealtimeWorkerInfo] = [:]
        var reservations: [String: Reservation] = [:]
        var perKey: [String: Int] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    package func announce(_ worker: RealtimeWorkerInfo) async throws(SessionRouterUnavailable) {
        state.withLock { state in
            var updated = worker
            updated.reserved = state.workers[worker.workerID]?.reserved ?? 0
            state.workers[worker.workerID] = updated
        }
    }

    package func withdraw(workerID: String) async throws(SessionRouterUnavailable) {
        _ = state.withLock { $0.workers.removeValue(forKey: workerID) }
    }

    package func allocate(
        sessionID: String, clientKey: String, keyLimit: Int, model: String, excluding: Set<String>, now: Date, staleAfter: TimeInterval, lease: TimeInterval
    ) async throws(SessionRouterUnavailable) -> AllocationOutcome {
        state.withLock { state in
            if keyLimit > 0, state.perKey[clientKey, default: 0] >= keyLimit { return .keyLimitReached(limit: keyLimit) }
            let candidates = state.workers.values.filter {
                !excluding.contains($0.workerID) && $0.isHealthy(now: now, staleAfter: staleAfter) && $0.streams(model)
            }
            guard let best = candidates.max(by: { ($0.capacity - $0.reserved, $1.workerID) < ($1.capacity - $1.reserved, $0.workerID) }),
                best.capacity - best.reserved > 0
            else { return .noCapacity }
            state.workers[best.workerID]?.reserved += 1
            state.perKey[clientKey, default: 0] += 1
            state.reservations[sessionID] = Reservation(workerID: best.workerID, clientKey: clientKey, leaseUntil: now.addingTimeInterval(lease))
            return .allocated(SessionAllocation(sessionID: sessionID, workerID: best.workerID, endpoint: best.endpoint))
        }
    }

    @discardableResult
    package func release(sessionID: String) async throws(SessionRouterUnavailable) -> Bool {
        state.withLock { Self.release(sessionID, in: &$0) }
    }

    private static func release(_ sessionID: String, in state: inout State) -> Bool {
        guard let reservation = state.reservations.removeValue(forKey: sessionID) else { return false }
        if let reserved = state.workers[reservation.workerID]?.reserved {
            state.workers[reservation.workerID]?.reserved = max(0, reserved - 1)
        }
        let remaining = state.perKey[reservation.clientKey, default: 1] - 1
        state.perKey[reservation.clientKey] = remaining > 0 ? remaining : nil
        return true
    }

    package func renew(sessionID: String, lease: TimeInterval) async throws(SessionRouterUnavailable) {
        state.withLock { $0.reservations[sessionID]?.leaseUntil = Date().addingTimeInterval(lease) }
    }

    package func workers() async throws(SessionRouterUnavailable) -> [RealtimeWorkerInfo] {
        state.withLock { $0.workers.values.sorted { $0.workerID < $1.workerID } }
    }

    package func markOffline(workerID: String) async throws(SessionRouterUnavailable) {
        state.withLock { $0.workers[workerID]?.status = "offline" }
    }

    package func reconcile(now: Date, staleAfter: TimeInterval) async throws(SessionRouterUnavailable) -> ReconcileReport {
        state.withLock { state in
            var report = ReconcileReport()
            for (sessionID, reservation) in state.reservations where reservation.leaseUntil < now {
                if Self.release(sessionID, in: &state) { report.releasedSessions.append(sessionID) }
            }
            for (workerID, worker) in state.workers {
                let silence = now.timeIntervalSince(worker.lastHeartbeat)
                if silence > 10 * staleAfter {
                    state.workers[workerID] = nil
                } else if silence > staleAfter, worker.status != "offline" {
                    state.workers[workerID]?.status = "offline"
                    report.workersMarkedOffline.append(workerID)
                }
            }
            report.releasedSessions.sort()
            report.workersMarkedOffline.sort()
            return report
        }
    }
}
