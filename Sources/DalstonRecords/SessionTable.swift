import DalstonCore
package import DalstonSessionRouter
package import Foundation

/// Realtime sessions in the record database: status and times as columns (for listing and
/// retention), the whole record, transcript and segments included, as JSON.
package struct SessionTable: RealtimeSessionArchive {
    let database: any RecordDatabase

    package init(database: any RecordDatabase) {
        self.database = database
    }

    package func save(_ record: RealtimeSessionRecord) async throws {
        try await database.query(
            """
            INSERT INTO realtime_sessions (id, status, started_at, started_ms, ended_at, request_id, record, tenant_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at, record = excluded.record
            """,
            [.text(record.id), .text(record.status), .text(RecordTime.text(record.startedAt)), .integer(RecordTime.milliseconds(record.startedAt)),
             RecordTime.text(record.endedAt), .text(record.requestID), .text(try Self.encode(record)), .text(record.tenantID ?? Tenancy.defaultTenant)])
    }

    package func saveIfActive(_ record: RealtimeSessionRecord) async throws -> Bool {
        !(try await database.query(
            "UPDATE realtime_sessions SET status = $2, ended_at = $3, record = $4 WHERE id = $1 AND status = 'active' RETURNING id",
            [.text(record.id), .text(record.status), RecordTime.text(record.endedAt), .text(try Self.encode(record))])).isEmpty
    }

    package func record(_ id: String) async throws -> RealtimeSessionRecord? {
        let rows = try await database.query("SELECT record FROM realtime_sessions WHERE id = $1", [.text(id)])
        return try rows.first.map { row throws(RecordStoreError) in try Self.decode(try row.string("record")) }
    }

    package func list(limit: Int, before: Double?, status: String?, tenantID: String?) async throws -> [RealtimeSessionRecord] {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let before {
            binds.append(.integer(Int64((before * 1000).rounded())))
            conditions.append("started_ms < $\(binds.count)")
        }
        if let status {
            binds.append(.text(status))
            conditions.append("status = $\(binds.count)")
        }
        if let tenantID {
            binds.append(.text(tenantID))
            conditions.append("tenant_id = $\(binds.count)")
        }
        binds.append(.integer(max(0, limit)))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        var records: [RealtimeSessionRecord] = []
        for row in try await database.query("SELECT record FROM realtime_sessions \(filter) ORDER BY started_ms DESC, id DESC LIMIT $\(binds.count)", binds) {
            records.append(try Self.decode(try row.string("record")))
        }
        return records
    }

    /// Ended sessions that started before `cutoff`, oldest first: what retention deletes.
    package func expired(startedBefore cutoff: Date, limit: Int) async throws -> [(id: String, requestID: String)] {
        let rows = try await database.query(
            "SELECT id, request_id FROM realtime_sessions WHERE status <> 'active' AND started_ms < $1 ORDER BY started_ms LIMIT $2",
            [.integer(Int64((cutoff.timeIntervalSince1970 * 1000).rounded())), .integer(max(0, limit))])
        return rows.compactMap { row in row.optionalString("id").map { ($0, row.optionalString("request_id") ?? "") } }
    }

    package func delete(_ id: String) async throws {
        try await database.query("DELETE FROM realtime_sessions WHERE id = $1", [.text(id)])
    }

    static func encode(_ record: RealtimeSessionRecord) throws(RecordStoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RecordTime.text(date))
        }
        do {
            return String(decoding: try encoder.encode(record), as: UTF8.self)
        } catch {
            throw .corrupt("a session record could not be encoded: \(error)")
        }
    }

    static func decode(_ json: String) throws(RecordStoreError) -> RealtimeSessionRecord {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = RecordTime.date(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a timestamp: \(text)"))
            }
            return date
        }
        do {
            return try decoder.decode(RealtimeSessionRecord.self, from: Data(json.utf8))
        } catch {
            throw .corrupt("a stored session record cannot be read: \(error)")
        }
    }
}
