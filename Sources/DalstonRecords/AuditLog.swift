import DalstonPipeline
package import Foundation

/// One change to Dalston's records: who (an API key's id, `cli`, `system`), what, to which
/// resource, when, and under which request.
package struct AuditEntry: Sendable, Equatable, Codable {
    package var at: Date
    package var actor: String
    package var action: String
    package var resourceType: String
    package var resourceID: String
    package var requestID: String?
    package var detail: String?
    /// The tenant of the key that made the change (nil: the system or the CLI).
    package var tenantID: String?
    /// The entry's place in the log (set when read back).
    package var sequence: Int?

    package init(at: Date = Date(), actor: String, action: String, resourceType: String, resourceID: String, requestID: String? = nil, detail: String? = nil) {
        self.at = at
        self.actor = actor
        self.action = action
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.requestID = requestID
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case at, actor, action, detail
        case resourceType = "resource_type"
        case resourceID = "resource_id"
        case requestID = "request_id"
        case tenantID = "tenant_id"
        case sequence = "id"
    }
}

/// The audit log: appended to, never changed.
package struct AuditLog: Sendable {
    let database: any RecordDatabase

    package init(database: any RecordDatabase) {
        self.database = database
    }

    package func record(_ entry: AuditEntry) async throws(RecordStoreError) {
        try await database.query(
            "INSERT INTO audit_log (at, actor, action, resource_type, resource_id, request_id, detail, tenant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [.text(RecordTime.text(entry.at)), .text(entry.actor), .text(entry.action), .text(entry.resourceType), .text(entry.resourceID),
             .text(entry.requestID), .text(entry.detail), .text(entry.tenantID)])
    }

    /// Oldest first; only those about one resource when given.
    package func entries(resourceType: String? = nil, resourceID: String? = nil, limit: Int = 100) async throws(RecordStoreError) -> [AuditEntry] {
        var query = AuditQuery(limit: limit, newestFirst: false)
        query.resourceType = resourceType
        query.resourceID = resourceID
        return try await entries(query)
    }

    /// The entries `query` selects, in its order, at most `limit`.
    package func entries(_ query: AuditQuery) async throws(RecordStoreError) -> [AuditEntry] {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        func equal(_ column: String, _ value: String?) {
            guard let value else { return }
            binds.append(.text(value))
            conditions.append("\(column) = $\(binds.count)")
        }
        equal("resource_type", query.resourceType)
        equal("resource_id", query.resourceID)
        equal("action", query.action)
        equal("actor", query.actor)
        equal("request_id", query.requestID)
        if let tenant = query.tenantID {
            binds.append(.text(tenant))
            // The system's and the CLI's entries belong to the default tenant.
            conditions.append(tenant == JobTenancy.defaultTenant ? "(tenant_id = $\(binds.count) OR tenant_id IS NULL)" : "tenant_id = $\(binds.count)")
        }
        if let since = query.since {
            binds.append(.text(RecordTime.text(since)))
            conditions.append("at >= $\(binds.count)")
        }
        if let until = query.until {
            binds.append(.text(RecordTime.text(until)))
            conditions.append("at < $\(binds.count)")
        }
        if let after = query.after {
            binds.append(.integer(after))
            conditions.append(query.newestFirst ? "id < $\(binds.count)" : "id > $\(binds.count)")
        }
        binds.append(.integer(max(0, query.limit)))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let order = query.newestFirst ? "DESC" : "ASC"
        return try await database.query("SELECT * FROM audit_log \(filter) ORDER BY id \(order) LIMIT $\(binds.count)", binds).map { row throws(RecordStoreError) in
            var entry = AuditEntry(
                at: RecordTime.date(row.optionalString("at")) ?? Date(timeIntervalSince1970: 0), actor: try row.string("actor"),
                action: try row.string("action"), resourceType: try row.string("resource_type"), resourceID: try row.string("resource_id"),
                requestID: row.optionalString("request_id"), detail: row.optionalString("detail"))
            entry.tenantID = row.optionalString("tenant_id")
            entry.sequence = row.optionalInt("id")
            return entry
        }
    }
}

/// Which audit entries to read: each filter optional, in order of the log (newest first by
/// default), continuing after the entry `after`.
package struct AuditQuery: Sendable, Equatable {
    package var resourceType: String?
    package var resourceID: String?
    package var action: String?
    package var actor: String?
    package var requestID: String?
    package var tenantID: String?
    package var since: Date?
    package var until: Date?
    package var after: Int?
    package var limit: Int
    package var newestFirst: Bool

    package init(limit: Int = 25, newestFirst: Bool = true) {
        self.limit = limit
        self.newestFirst = newestFirst
    }
}
