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
            "INSERT INTO audit_log (at, actor, action, resource_type, resource_id, request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [.text(RecordTime.text(entry.at)), .text(entry.actor), .text(entry.action), .text(entry.resourceType), .text(entry.resourceID),
             .text(entry.requestID), .text(entry.detail)])
    }

    /// Oldest first; only those about one resource when given.
    package func entries(resourceType: String? = nil, resourceID: String? = nil, limit: Int = 100) async throws(RecordStoreError) -> [AuditEntry] {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let resourceType {
            binds.append(.text(resourceType))
            conditions.append("resource_type = $\(binds.count)")
        }
        if let resourceID {
            binds.append(.text(resourceID))
            conditions.append("resource_id = $\(binds.count)")
        }
        binds.append(.integer(limit))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try await database.query("SELECT * FROM audit_log \(filter) ORDER BY id LIMIT $\(binds.count)", binds).map { row throws(RecordStoreError) in
            AuditEntry(
                at: RecordTime.date(row.optionalString("at")) ?? Date(timeIntervalSince1970: 0), actor: try row.string("actor"),
                action: try row.string("action"), resourceType: try row.string("resource_type"), resourceID: try row.string("resource_id"),
                requestID: row.optionalString("request_id"), detail: row.optionalString("detail"))
        }
    }
}
