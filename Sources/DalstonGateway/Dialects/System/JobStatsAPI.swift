import DalstonPipeline
import Foundation
import Hummingbird

/// `GET /v1/jobs/stats` (the original's): the caller's tenant's jobs running and queued now,
/// and those completed, failed and cancelled since midnight UTC.
struct JobStatsAPI: Sendable {
    let jobs: JobService
    let guards: RouteGuards

    /// Mounted at `/v1/jobs`.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .jobs)
        routes.get("stats") { _, context in
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
            return JobStatsResponse(try await jobs.stats(tenant: context.tenant, since: calendar.startOfDay(for: Date())))
        }
        return routes
    }
}

struct JobStatsResponse: ResponseEncodable {
    let running: Int
    let queued: Int
    let completedToday: Int
    let failedToday: Int
    let cancelledToday: Int

    init(_ stats: JobStats) {
        running = stats.running
        queued = stats.queued
        completedToday = stats.completed
        failedToday = stats.failed
        cancelledToday = stats.cancelled
    }

    enum CodingKeys: String, CodingKey {
        case running, queued
        case completedToday = "completed_today"
        case failedToday = "failed_today"
        case cancelledToday = "cancelled_today"
    }
}
