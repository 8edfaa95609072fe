package import Foundation

/// A realtime worker as the router sees it: what it announced in its last heartbeat, and the
/// slots the router has reserved on it.
package struct RealtimeWorkerInfo: Sendable, Equatable, Codable {
    package var workerID: String
    /// `ws://host:port`: the gateway opens `{endpoint}/session`.
    package var endpoint: String
    package var capacity: Int
    /// Sessions the worker says it is serving.
    package var active: Int
    /// Slots reserved by gateways (the allocation counter).
    package var reserved: Int
    /// `ready`, `busy`, `draining` or `offline`.
    package var status: String
    package var lastHeartbeat: Date
    package var models: [String]
    package var metricsEndpoint: String?

    package init(
        workerID: String, endpoint: String, capacity: Int, active: Int = 0, reserved: Int = 0, status: String = "ready",
        lastHeartbeat: Date = Date(), models: [String] = [], metricsEndpoint: String? = nil
    ) {
        self.workerID = workerID
        self.endpoint = endpoint
        self.capacity = capacity
        self.active = active
        self.reserved = reserved
        self.status = status
        self.lastHeartbeat = lastHeartbeat
        self.models = models
        self.metricsEndpoint = metricsEndpoint
    }

    enum CodingKeys: String, CodingKey {
        case endpoint, capacity, active, status, models
        case workerID = "worker_id"
        case reserved = "active_sessions"
        case lastHeartbeat = "last_heartbeat"
        case metricsEndpoint = "metrics_endpoint"
    }

    /// Heartbeat recent enough, and not going away.
    package func isHealthy(now: Date, staleAfter: TimeInterval) -> Bool {
        now.timeIntervalSince(lastHeartbeat) <= staleAfter && status != "offline" && status != "draining"
    }

    /// Whether it streams `model` (empty: any model will do; a worker that lists none did not say).
    package func streams(_ model: String) -> Bool {
        model.isEmpty || models.isEmpty || models.contains(model)
    }
}

/// A reserved slot: the session runs on `workerID`, reached at `endpoint`.
package struct SessionAllocation: Sendable, Equatable {
    package let sessionID: String
    package let workerID: String
    package let endpoint: String

    package init(sessionID: String, workerID: String, endpoint: String) {
        self.sessionID = sessionID
        self.workerID = workerID
        self.endpoint = endpoint
    }
}

package enum AllocationOutcome: Sendable, Equatable {
    case allocated(SessionAllocation)
    /// No healthy worker has a free slot.
    case noCapacity
    /// The client's key already has `limit` sessions open.
    case keyLimitReached(limit: Int)
}

/// What one pass of the health loop did.
package struct ReconcileReport: Sendable, Equatable {
    /// Reservations whose lease ran out (their gateway died) that were given back.
    package var releasedSessions: [String] = []
    /// Workers whose heartbeat stopped, now marked offline.
    package var workersMarkedOffline: [String] = []

    package init(releasedSessions: [String] = [], workersMarkedOffline: [String] = []) {
        self.releasedSessions = releasedSessions
        self.workersMarkedOffline = workersMarkedOffline
    }
}

/// The router's state could not be reached (Redis down): the client gets `no_capacity`-like 4503.
package struct SessionRouterUnavailable: Error, Sendable, CustomStringConvertible {
    package let description: String

    package init(_ description: String) {
        self.description = description
    }
}
