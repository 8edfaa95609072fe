import DalstonCore
package import DalstonPipeline
package import DalstonSessionRouter
import Foundation
package import Logging

/// Dalston's durable records (jobs, realtime sessions, API keys, the audit log) in one
/// database, its schema brought up to date when it is opened.
package final class RecordStore: Sendable {
    package let database: any RecordDatabase
    package let jobTable: JobTable
    package let apiKeys: APIKeyTable
    package let sessionTokens: SessionTokenTable
    package let audit: AuditLog
    package let sessionTable: SessionTable
    package let webhooks: WebhookTable

    /// Migrates `database` (under the migration lock) and wraps it.
    package static func open(_ database: any RecordDatabase, defaultRetentionDays: Int? = nil, logger: Logger) async throws(RecordStoreError) -> RecordStore {
        try await Migrator.migrate(database, logger: logger)
        return RecordStore(database: database, defaultRetentionDays: defaultRetentionDays)
    }

    init(database: any RecordDatabase, defaultRetentionDays: Int?) {
        self.database = database
        self.jobTable = JobTable(database: database, defaultRetention: defaultRetentionDays)
        self.apiKeys = APIKeyTable(database: database)
        self.sessionTokens = SessionTokenTable(database: database)
        self.audit = AuditLog(database: database)
        self.sessionTable = SessionTable(database: database)
        self.webhooks = WebhookTable(database: database)
    }

    /// Jobs, for the pipeline.
    package var jobs: any JobHistory { jobTable }

    /// Realtime sessions, for the gateway and the session router's health loop.
    package var sessions: any RealtimeSessionArchive { sessionTable }

    /// `sqlite:/path` or `postgres://user@host:port/db` (no password).
    package var location: String { database.location }

    /// `sqlite` or `postgres`.
    package var kind: String { database.dialect.rawValue }

    /// Whether the database answers a trivial query now, and how fast.
    package func health() async -> RecordStoreHealth {
        let start = ContinuousClock.now
        do {
            try await database.query("SELECT 1 AS ok", [])
            return RecordStoreHealth(kind: kind, reachable: true, latencySeconds: (ContinuousClock.now - start).seconds, error: nil)
        } catch {
            return RecordStoreHealth(kind: kind, reachable: false, latencySeconds: nil, error: error.description)
        }
    }

    package func close() async {
        await database.close()
    }
}

/// What `/v1/status` and the `dalston_database_up` gauge report.
package struct RecordStoreHealth: Sendable, Equatable {
    package var kind: String
    package var reachable: Bool
    package var latencySeconds: Double?
    package var error: String?
}
