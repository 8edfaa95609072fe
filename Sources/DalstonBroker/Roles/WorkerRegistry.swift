public import Foundation

/// Which workers are alive and what they are doing (heartbeats).
public protocol WorkerRegistry: Sendable {
    func heartbeat(_ worker: WorkerHeartbeat) async throws(BrokerError)
    /// Workers whose last heartbeat is recent enough, per `BrokerOptions.workerTimeout`.
    func liveWorkers() async throws(BrokerError) -> [WorkerHeartbeat]
}

/// What a worker reports about itself.
public struct WorkerHeartbeat: Sendable, Equatable, Codable {
    public var workerID: String
    public var engineID: String
    /// `idle` or `busy`.
    public var status: String
    public var currentTaskID: String?
    public var lastSeen: Date
    /// Where the worker's process serves `/metrics` (`host:port`), for scraping and people.
    public var metricsEndpoint: String?

    public init(
        workerID: String, engineID: String, status: String, currentTaskID: String? = nil, lastSeen: Date = Date(), metricsEndpoint: String? = nil
    ) {
        self.metricsEndpoint = metricsEndpoint
        self.workerID = workerID
        self.engineID = engineID
        self.status = status
        self.currentTaskID = currentTaskID
        self.lastSeen = lastSeen
    }

    enum CodingKeys: String, CodingKey {
        case status
        case workerID = "worker_id"
        case engineID = "engine_id"
        case currentTaskID = "current_task_id"
        case lastSeen = "last_seen"
        case metricsEndpoint = "metrics_endpoint"
    }
}

