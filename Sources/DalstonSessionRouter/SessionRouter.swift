import DalstonCore
package import DalstonMetrics
package import Foundation
package import Logging
import Tracing

/// Hands realtime sessions to workers: the least-loaded healthy worker gets the session, its
/// slot is reserved atomically in the store, leased while the gateway holds the connection, and
/// given back on every exit path (or by the health loop when the gateway died).
package struct SessionRouter: Sendable {
    package struct Options: Sendable, Equatable {
        /// A worker silent for longer is not given sessions (`DALSTON_REALTIME_WORKER_TIMEOUT`).
        package var staleAfter: TimeInterval = 15
        /// How long a reservation outlives a gateway that stopped renewing it.
        package var lease: TimeInterval = 60
        /// Open sessions per client key (`DALSTON_REALTIME_MAX_SESSIONS_PER_KEY`; 0: no limit).
        package var sessionsPerKey = 5
        /// How often the health loop runs.
        package var reconcileInterval: TimeInterval = 5

        package init() {}
    }

    package let store: any SessionRouterStore
    package let options: Options
    let instruments: Instruments
    let logger: Logger

    package init(store: any SessionRouterStore, options: Options = Options(), instruments: Instruments = .disabled, logger: Logger = Logger(label: "dalston.session_router")) {
        self.store = store
        self.options = options
        self.instruments = instruments
        self.logger = logger
    }

    package static func newSessionID() -> String {
        "sess_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))
    }

    /// Reserves a slot for `sessionID`; a worker in `excluding` (one that just failed) is skipped.
    /// `clientKey` nil: a caller without an identity (no API keys configured), not limited per key.
    package func allocate(
        sessionID: String, clientKey: String?, model: String = "", excluding: Set<String> = []
    ) async throws(SessionRouterUnavailable) -> AllocationOutcome {
        let started = ContinuousClock.now
        let span = startSpan("session_router.allocate")
        span.attributes["dalston.session_id"] = sessionID
        defer { span.end() }
        let outcome: AllocationOutcome
        do {
            outcome = try await store.allocate(
                sessionID: sessionID, clientKey: clientKey ?? "anonymous", keyLimit: clientKey == nil ? 0 : options.sessionsPerKey, model: model,
                excluding: excluding, now: Date(),
                staleAfter: options.staleAfter, lease: options.lease)
        } catch {
            span.recordError(error)
            span.setStatus(.init(code: .error))
            logger.error("session_router_unavailable", metadata: ["session_id": "\(sessionID)", "error": "\(error.description)"])
            throw error
        }
        instruments.record(DalstonMetric.routerAllocationDuration, seconds: (ContinuousClock.now - started).seconds)
        switch outcome {
        case .allocated(let allocation):
            span.attributes["dalston.worker_id"] = allocation.workerID
            logger.info("session_allocated", metadata: ["session_id": "\(sessionID)", "worker_id": "\(allocation.workerID)"])
        case .noCapacity:
            span.attributes["dalston.outcome"] = "no_capacity"
            logger.warning("no_workers_available", metadata: ["session_id": "\(sessionID)", "model": "\(model)"])
        case .keyLimitReached(let limit):
            span.attributes["dalston.outcome"] = "key_limit"
            logger.warning("session_limit_reached", metadata: ["session_id": "\(sessionID)", "limit": "\(limit)"])
        }
        return outcome
    }

    /// Gives the slot back and counts the session's ending (`status` nil: not counted, the
    /// session goes on elsewhere); failures are logged (the lease expiry reclaims it in the end).
    package func release(sessionID: String, status: String?) async {
        if let status { instruments.increment(DalstonMetric.routerSessions, [("status", status)]) }
        do {
            if try await store.release(sessionID: sessionID) {
                logger.info("session_released", metadata: ["session_id": "\(sessionID)", "status": "\(status ?? "retrying")"])
            }
        } catch {
            logger.warning("session_release_failed", metadata: [
                "session_id": "\(sessionID)", "error": "\(error.description)", "reclaimed_after_seconds": "\(Int(options.lease))",
            ])
        }
    }

    /// Keeps the reservation alive while the connection lasts: renewed every quarter of the
    /// lease, so three renewals in a row can be late (a stalled host) before it runs out.
    package func keepAlive(sessionID: String) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(options.lease / 4))
            guard !Task.isCancelled else { return }
            do {
                try await store.renew(sessionID: sessionID, lease: options.lease)
            } catch {
                logger.warning("session_lease_renewal_failed", metadata: ["session_id": "\(sessionID)", "error": "\(error.description)"])
            }
        }
    }

    package func markOffline(workerID: String, reason: String) async {
        logger.warning("realtime_worker_unreachable", metadata: ["worker_id": "\(workerID)", "reason": "\(reason)"])
        try? await store.markOffline(workerID: workerID)
    }

    /// One pass of the health loop, with the gauges it samples.
    @discardableResult
    package func reconcile() async throws(SessionRouterUnavailable) -> ReconcileReport {
        let now = Date()
        let report = try await store.reconcile(now: now, staleAfter: options.staleAfter)
        for sessionID in report.releasedSessions {
            logger.warning("orphaned_session_released", metadata: ["session_id": "\(sessionID)"])
            instruments.increment(DalstonMetric.routerSessions, [("status", "error")])
        }
        for workerID in report.workersMarkedOffline {
            logger.warning("realtime_worker_offline", metadata: ["worker_id": "\(workerID)", "silent_for_more_than_seconds": "\(Int(options.staleAfter))"])
        }
        let workers = try await store.workers()
        instruments.gauge(DalstonMetric.routerWorkersRegistered).record(workers.count)
        instruments.gauge(DalstonMetric.routerWorkersHealthy).record(workers.filter { $0.isHealthy(now: now, staleAfter: options.staleAfter) }.count)
        for worker in workers {
            instruments.gauge(DalstonMetric.routerSessionsActive, [("worker_id", worker.workerID)]).record(worker.reserved)
        }
        return report
    }

    /// Capacity across healthy workers, for `/v1/realtime/status`.
    package func status() async throws(SessionRouterUnavailable) -> RealtimeStatus {
        let now = Date()
        let workers = try await store.workers()
        let healthy = workers.filter { $0.isHealthy(now: now, staleAfter: options.staleAfter) }
        let capacity = healthy.reduce(0) { $0 + $1.capacity }
        let active = healthy.reduce(0) { $0 + $1.reserved }
        let state = healthy.isEmpty ? "unavailable" : (active >= capacity ? "at_capacity" : "ready")
        return RealtimeStatus(
            status: state, totalCapacity: capacity, activeSessions: active, availableCapacity: max(0, capacity - active),
            workerCount: workers.count, readyWorkers: healthy.count)
    }
}

package struct RealtimeStatus: Sendable, Equatable, Codable {
    package var status: String
    package var totalCapacity: Int
    package var activeSessions: Int
    package var availableCapacity: Int
    package var workerCount: Int
    package var readyWorkers: Int

    enum CodingKeys: String, CodingKey {
        case status
        case totalCapacity = "total_capacity"
        case activeSessions = "active_sessions"
        case availableCapacity = "available_capacity"
        case workerCount = "worker_count"
        case readyWorkers = "ready_workers"
    }
}
