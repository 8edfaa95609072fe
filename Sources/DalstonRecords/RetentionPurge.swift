package import DalstonBroker
import DalstonCore
package import DalstonMetrics
package import DalstonPipeline
package import Foundation
package import Logging
import ServiceLifecycle

/// Deletes finished jobs whose retention has run out: their files, their live record, their
/// history and webhook deliveries, each logged (`job_purged`), counted
/// (`dalston_retention_purged_total`) and written to the audit log. Jobs without a retention
/// (`retention` unset and no `DALSTON_RETENTION_DAYS`) are kept. Session tokens a day past
/// their expiry go too.
package struct RetentionPurge: Service {
    let records: RecordStore
    let jobs: JobStore
    let artifacts: any ArtifactStore
    let interval: Duration
    /// How long an ended realtime session (record, stored audio and transcript) is kept; nil: for good.
    let sessionRetention: Duration?
    let instruments: Instruments
    let logger: Logger

    package init(
        records: RecordStore, state: any StateStore, artifacts: any ArtifactStore, interval: Duration = .seconds(3600), sessionRetention: Duration? = nil,
        instruments: Instruments = .disabled, logger: Logger = Logger(label: "dalston.retention")
    ) {
        self.sessionRetention = sessionRetention
        self.records = records
        self.jobs = JobStore(state: state, history: records.jobs)
        self.artifacts = artifacts
        self.interval = interval
        self.instruments = instruments
        self.logger = logger
        instruments.startAtZero(DalstonMetric.retentionPurged, [[("kind", "jobs")], [("kind", "sessions")]])
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                _ = await purgeExpired()
                _ = await purgeExpiredSessions()
                do {
                    try await records.sessionTokens.purgeExpired()
                } catch {
                    logger.warning("session_token_purge_failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Ended realtime sessions past `sessionRetention`: stored audio and transcript first (a store
    /// that is down keeps the record for the next pass), then the record; the ids purged.
    @discardableResult
    package func purgeExpiredSessions(now: Date = Date(), limit: Int = 500) async -> [String] {
        guard let sessionRetention else { return [] }
        let expired: [(id: String, requestID: String)]
        do {
            expired = try await records.sessionTable.expired(startedBefore: now.addingTimeInterval(-sessionRetention.seconds), limit: limit)
        } catch {
            logger.warning("retention_purge_failed", metadata: ["kind": "sessions", "error": "\(error)"])
            return []
        }
        var purged: [String] = []
        for (id, requestID) in expired {
            do {
                let files = try await artifacts.removeAll(of: .session(id))
                try await records.sessionTable.delete(id)
                try await records.audit.record(AuditEntry(actor: "system", action: "session.purged", resourceType: "session", resourceID: id, requestID: requestID))
                instruments.increment(DalstonMetric.retentionPurged, [("kind", "sessions")])
                logger.info("session_purged", metadata: ["session_id": "\(id)", "request_id": "\(requestID)", "files": .stringConvertible(files)])
                purged.append(id)
            } catch {
                logger.warning("session_purge_failed", metadata: ["session_id": "\(id)", "error": "\(error)"])
            }
        }
        return purged
    }

    /// One pass; the ids purged.
    @discardableResult
    package func purgeExpired(now: Date = Date(), limit: Int = 500) async -> [String] {
        let expired: [SQLRow]
        do {
            expired = try await records.jobTable.expired(at: now, limit: limit)
        } catch {
            logger.warning("retention_purge_failed", metadata: ["error": "\(error)"])
            return []
        }
        var purged: [String] = []
        for row in expired {
            guard let jobID = row.optionalString("id") else { continue }
            let requestID = row.optionalString("request_id") ?? ""
            do {
                // Files first: a store that is down keeps the record, and the next sweep tries again.
                let files = try await artifacts.removeAll(ofJob: jobID)
                _ = try await jobs.delete(jobID)
                try await records.webhooks.deleteDeliveries(ofJob: jobID)
                try await records.audit.record(AuditEntry(actor: "system", action: "job.purged", resourceType: "job", resourceID: jobID, requestID: requestID))
                instruments.increment(DalstonMetric.retentionPurged, [("kind", "jobs")])
                logger.info("job_purged", metadata: ["job_id": "\(jobID)", "request_id": "\(requestID)", "files": .stringConvertible(files)])
                purged.append(jobID)
            } catch {
                logger.warning("job_purge_failed", metadata: ["job_id": "\(jobID)", "error": "\(error)"])
            }
        }
        return purged
    }
}
