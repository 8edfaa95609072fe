import DalstonCore
package import DalstonPipeline
package import Foundation

/// Jobs in the record database: the columns people filter and sort on, each task's outcome and
/// timing in `job_tasks`, and the whole field map of the job's record (in `record`) so that a
/// job reads back exactly as the pipeline wrote it.
package struct JobTable: JobHistory {
    let database: any RecordDatabase
    /// Days a finished job is kept when it did not say (nil: for good).
    let defaultRetention: Int?

    package init(database: any RecordDatabase, defaultRetention: Int? = nil) {
        self.database = database
        self.defaultRetention = defaultRetention
    }

    /// When a finished job may be purged (milliseconds), from its `retention_days` or the
    /// default; nil: kept (also for `-1`, the original API's "keep forever", whatever the default).
    static func purgeAfter(_ job: JobRecord, fields: [String: String], default defaultDays: Int?) -> Int? {
        guard let days = fields[JobField.retentionDays].flatMap(Int.init) ?? defaultDays, days >= 0 else { return nil }
        let end = job.completedAt ?? job.updatedAt ?? job.createdAt
        return Int(RecordTime.milliseconds(end.addingTimeInterval(Double(days) * 86_400)))
    }

    package func save(_ fields: [String: String]) async throws {
        try await saveRecord(fields)
    }

    func saveRecord(_ fields: [String: String]) async throws(RecordStoreError) {
        guard let job = JobRecord(fields: fields) else { throw .corrupt("a job record without an id or a valid status") }
        let snapshot = try Self.encode(fields)
        let updatedAt = job.updatedAt ?? job.createdAt
        try await database.transaction { transaction throws(RecordStoreError) in
            try await transaction.query(
                """
                INSERT INTO jobs (id, status, request_id, created_at, created_ms, updated_at, completed_at, display_name, filename,
                                  language, model, audio_bytes, audio_duration_seconds, processing_seconds, error, error_type, record, tenant_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
                ON CONFLICT (id) DO UPDATE SET
                    status = excluded.status, updated_at = excluded.updated_at, completed_at = excluded.completed_at,
                    display_name = excluded.display_name, audio_duration_seconds = excluded.audio_duration_seconds,
                    processing_seconds = excluded.processing_seconds, error = excluded.error, error_type = excluded.error_type,
                    record = excluded.record
                """,
                [
                    .text(job.id), .text(job.status.rawValue), .text(job.requestID), .text(RecordTime.text(job.createdAt)),
                    .integer(RecordTime.milliseconds(job.createdAt)), .text(RecordTime.text(updatedAt)), RecordTime.text(job.completedAt),
                    .text(job.displayName), .text(job.filename), .text(job.language), .text(job.modelID), .integer(job.audioBytes),
                    .real(job.audioDurationSeconds), .real(job.processingTimeSeconds), .text(job.error), .text(job.errorType), .text(snapshot),
                    .text(job.tenant),
                ])
            for (stage, task) in job.tasks {
                let duration = task.queuedAt.flatMap { queued in task.completedAt.map { $0.timeIntervalSince(queued) } }
                try await transaction.query(
                    """
                    INSERT INTO job_tasks (job_id, stage, status, attempt, worker_id, queued_at, completed_at, duration_seconds, error)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                    ON CONFLICT (job_id, stage) DO UPDATE SET
                        status = excluded.status, attempt = excluded.attempt, worker_id = excluded.worker_id, queued_at = excluded.queued_at,
                        completed_at = excluded.completed_at, duration_seconds = excluded.duration_seconds, error = excluded.error
                    """,
                    [
                        .text(job.id), .text(stage), .text(task.status.rawValue), .integer(task.attempt), .text(task.workerID),
                        RecordTime.text(task.queuedAt), RecordTime.text(task.completedAt), .real(duration), .text(task.error),
                    ])
            }
            if job.status.isFinal {
                try await transaction.query("UPDATE jobs SET purge_after_ms = $2 WHERE id = $1", [.text(job.id), .integer(Self.purgeAfter(job, fields: fields, default: defaultRetention))])
            }
            try await WebhookTable.enqueueDeliveries(for: job, fields: fields, in: transaction)
        }
    }

    package func fields(of jobID: String) async throws -> [String: String]? {
        let rows = try await database.query("SELECT record FROM jobs WHERE id = $1", [.text(jobID)])
        return try rows.first.map { row throws(RecordStoreError) in try Self.decode(row.string("record")) }
    }

    package func list(_ query: JobListQuery, limit: Int) async throws -> [[String: String]] {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let cursor = query.cursor {
            let milliseconds = Int64((cursor.score * 1000).rounded())
            binds += [.integer(milliseconds), .text(cursor.jobID)]
            conditions.append("(created_ms < $\(binds.count - 1) OR (created_ms = $\(binds.count - 1) AND id < $\(binds.count)))")
        }
        if let status = query.status {
            binds.append(.text(status.rawValue))
            conditions.append("status = $\(binds.count)")
        }
        if let since = query.since {
            binds.append(.integer(RecordTime.milliseconds(since)))
            conditions.append("created_ms >= $\(binds.count)")
        }
        if let tenant = query.tenantID {
            binds.append(.text(tenant))
            conditions.append("tenant_id = $\(binds.count)")
        }
        binds.append(.integer(max(0, limit)))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try await database.query("SELECT record FROM jobs \(filter) ORDER BY created_ms DESC, id DESC LIMIT $\(binds.count)", binds)
        var jobs: [[String: String]] = []
        for row in rows { jobs.append(try Self.decode(try row.string("record"))) }
        return jobs
    }

    /// How many jobs ended in each final status since `date`, optionally of one tenant only.
    package func finishedCounts(since date: Date, tenantID: String?) async throws -> [String: Int] {
        var binds: [SQLValue] = [.text(RecordTime.text(date))]
        var tenantFilter = ""
        if let tenantID {
            binds.append(.text(tenantID))
            tenantFilter = " AND tenant_id = $2"
        }
        var counts: [String: Int] = [:]
        for row in try await database.query(
            "SELECT status, COUNT(*) AS finished FROM jobs WHERE completed_at >= $1\(tenantFilter) GROUP BY status", binds) {
            counts[try row.string("status")] = row.optionalInt("finished") ?? 0
        }
        return counts
    }

    package func delete(_ jobID: String) async throws -> Bool {
        try await database.transaction { transaction throws(RecordStoreError) -> Bool in
            try await transaction.query("DELETE FROM job_tasks WHERE job_id = $1", [.text(jobID)])
            return !(try await transaction.query("DELETE FROM jobs WHERE id = $1 RETURNING id", [.text(jobID)])).isEmpty
        }
    }

    package func unfinished(createdBefore date: Date, limit: Int) async throws -> [[String: String]] {
        let rows = try await database.query(
            "SELECT record FROM jobs WHERE status IN ($1, $2) AND created_ms < $3 ORDER BY created_ms LIMIT $4",
            [.text(JobStatus.pending.rawValue), .text(JobStatus.running.rawValue), .integer(RecordTime.milliseconds(date)), .integer(limit)])
        var jobs: [[String: String]] = []
        for row in rows { jobs.append(try Self.decode(try row.string("record"))) }
        return jobs
    }

    /// Finished jobs whose retention has run out at `date` (`id`, `request_id`), oldest first.
    func expired(at date: Date, limit: Int) async throws(RecordStoreError) -> [SQLRow] {
        try await database.query(
            "SELECT id, request_id FROM jobs WHERE purge_after_ms IS NOT NULL AND purge_after_ms <= $1 ORDER BY purge_after_ms LIMIT $2",
            [.integer(RecordTime.milliseconds(date)), .integer(limit)])
    }

    /// Each task's outcome and timing, for reports and the conformance suite.
    package func tasks(of jobID: String) async throws(RecordStoreError) -> [SQLRow] {
        try await database.query("SELECT * FROM job_tasks WHERE job_id = $1 ORDER BY stage", [.text(jobID)])
    }

    static func encode(_ fields: [String: String]) throws(RecordStoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(fields), as: UTF8.self)
        } catch {
            throw .corrupt("a job record could not be encoded: \(error)")
        }
    }

    static func decode(_ snapshot: String) throws(RecordStoreError) -> [String: String] {
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(snapshot.utf8))
        } catch {
            throw .corrupt("a stored job record is not a JSON object of strings: \(error)")
        }
    }
}
