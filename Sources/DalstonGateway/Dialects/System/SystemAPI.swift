import DalstonBroker
import DalstonModels
import DalstonCore
import DalstonLogging
import DalstonMetrics
import DalstonPipeline
import DalstonRecords
import DalstonSessionRouter
import Hummingbird
import Logging
import NIOCore

/// Probes, metrics and the deployment's status.
struct SystemAPI: Sendable {
    let jobs: JobService
    let queues: any TaskQueue
    let workers: any WorkerRegistry
    /// Every engine the deployment knows, so the status lists each (with 0 workers when none runs).
    let engineIDs: [String]
    let brokerKind: String
    let models: ModelCatalogue
    let records: RecordStore?
    /// The process's metrics, served at `/metrics` (nil: metrics off).
    let exposition: PrometheusExposition?
    let guards: RouteGuards
    let logger: Logger
    /// The realtime sessions' router, when this gateway serves them: `/ready` reports their capacity.
    var realtime: SessionRouter?
    /// Whether `/ready` also needs a realtime worker that can take a session.
    var requiresRealtime = false

    /// Probes and metrics, open to anyone who can reach the port.
    func probeRoutes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .open)
        routes.get("health") { _, _ in HealthResponse(status: "healthy") }
        // What answers here, for a person or a client probing the URL (the original API's `GET /`).
        routes.get("/") { _, _ in ServiceResponse(name: "Dalston", version: DalstonVersion.current, health: "/health", models: "/v1/models") }
        routes.get("ready") { _, _ in await self.readiness() }
        if let exposition {
            routes.get("metrics") { _, _ in
                var headers = HTTPFields()
                headers[.contentType] = PrometheusExposition.contentType
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: await exposition.render())))
            }
        }
        return routes
    }

    /// The deployment's status (`/v1/status`), for callers with `jobs:read`.
    func statusRoutes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .jobs)
        routes.get("status") { _, _ in try await self.status() }
        routes.get("engines") { _, _ in try await self.engineList() }
        return routes
    }

    /// `/ready`: whether this gateway can take jobs now (the broker answers, the artifact store
    /// takes a write), for load balancers and orchestrators; `/health` stays plain liveness.
    private func readiness() async -> EditedResponse<ReadyResponse> {
        // The probe is public: it says what is down, the log says why (no endpoints, no paths).
        var broker = "ok"
        do {
            _ = try await queues.knownEngines()
        } catch {
            broker = "unavailable"
            logger.warning("readiness_check_failed", metadata: ["component": "broker", "error": .error(error)])
        }
        var storage = "ok"
        let probe = ArtifactReference(jobID: "_readiness", name: "probe")
        do {
            try await jobs.artifacts.write(Array("ok".utf8), to: probe)
        } catch {
            storage = error.isOutOfSpace ? "full" : "unavailable"
            logger.warning("readiness_check_failed", metadata: ["component": "storage", "error": .error(error)])
        }
        var database: String?
        if let records {
            let health = await records.health()
            database = health.reachable ? "ok" : "unavailable"
            if let error = health.error { logger.warning("readiness_check_failed", metadata: ["component": "database", "error": "\(error)"]) }
        }
        // Realtime: its workers' capacity; a worker still loading its recogniser is not counted
        // (it registers once it can take a session).
        var realtimeReadiness: ReadyResponse.Realtime?
        var realtimeWorkers = 0
        if let realtime {
            do {
                let status = try await realtime.status()
                realtimeWorkers = status.readyWorkers
                realtimeReadiness = .init(status: status.status, availableSessions: status.availableCapacity, capacity: status.totalCapacity)
            } catch {
                logger.warning("readiness_check_failed", metadata: ["component": "realtime", "error": "\(error)"])
                realtimeReadiness = .init(status: "unavailable", availableSessions: 0, capacity: 0)
            }
        }
        let ready = broker == "ok" && storage == "ok" && (database ?? "ok") == "ok" && (!requiresRealtime || realtimeWorkers > 0)
        return EditedResponse(
            status: ready ? .ok : .serviceUnavailable, headers: ready ? [:] : [.retryAfter: "5"],
            response: ReadyResponse(
                status: ready ? "ready" : "not_ready", broker: broker, storage: storage, database: database,
                realtime: realtimeReadiness))
    }

    private func engineList() async throws -> EngineListResponse {
        let live = try await workers.liveWorkers()
        var alive: [String: Int] = [:]
        for worker in live { alive[worker.engineID, default: 0] += 1 }
        let engines = Set(try await queues.knownEngines()).union(engineIDs)
        var queued: [String: Int] = [:]
        for engine in engines { queued[engine] = try await queues.queueStats(engine: engine).waiting }
        return EngineListResponse(engineIDs: Array(engines), workers: alive, queued: queued, models: models.registry.models, version: DalstonVersion.current)
    }

    private func status() async throws -> StatusResponse {
        var queueStats: [String: StatusResponse.Queue] = [:]
        for engine in Set(try await queues.knownEngines()).union(engineIDs).sorted() {
            let stats = try await queues.queueStats(engine: engine)
            queueStats[engine] = .init(waiting: stats.waiting, inFlight: stats.inFlight, deadLettered: stats.deadLettered, oldestAgeSeconds: stats.oldestAge)
        }
        let live = try await workers.liveWorkers()
        var alive: [String: Int] = Dictionary(uniqueKeysWithValues: engineIDs.map { ($0, 0) })
        for worker in live { alive[worker.engineID, default: 0] += 1 }
        var database: StatusResponse.Database?
        if let records {
            let health = await records.health()
            database = .init(kind: health.kind, reachable: health.reachable, latencySeconds: health.latencySeconds)
        }
        return StatusResponse(
            status: database?.reachable == false ? "degraded" : "ok", broker: brokerKind, database: database, queues: queueStats, workersAlive: alive,
            workers: live.map {
                .init(workerID: $0.workerID, engineID: $0.engineID, status: $0.status, lastSeen: Timestamp.string($0.lastSeen), metricsEndpoint: $0.metricsEndpoint)
            })
    }
}
