import Hummingbird

/// `GET /v1/status`: queue depths per engine and the live workers.
struct StatusResponse: ResponseEncodable {
    struct Queue: Encodable {
        let waiting: Int
        let inFlight: Int
        let deadLettered: Int
        let oldestAgeSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case waiting
            case inFlight = "in_flight"
            case deadLettered = "dead_lettered"
            case oldestAgeSeconds = "oldest_age_seconds"
        }
    }

    struct Worker: Encodable {
        let workerID: String
        let engineID: String
        let status: String
        let lastSeen: String
        let metricsEndpoint: String?

        enum CodingKeys: String, CodingKey {
            case status
            case workerID = "worker_id"
            case engineID = "engine_id"
            case lastSeen = "last_seen"
            case metricsEndpoint = "metrics_endpoint"
        }
    }

    /// The record database: which, whether it answers, how fast (the reason goes to the log).
    struct Database: Encodable {
        let kind: String
        let reachable: Bool
        let latencySeconds: Double?

        enum CodingKeys: String, CodingKey {
            case kind, reachable
            case latencySeconds = "latency_seconds"
        }
    }

    let status: String
    let broker: String
    let database: Database?
    let queues: [String: Queue]
    let workersAlive: [String: Int]
    let workers: [Worker]

    enum CodingKeys: String, CodingKey {
        case status, broker, database, queues, workers
        case workersAlive = "workers_alive"
    }
}

/// `GET /`: the service's name and version.
struct ServiceResponse: ResponseEncodable {
    let name: String
    let version: String
    let health: String
    let models: String
}
