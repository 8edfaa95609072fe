import DalstonCore
import DalstonRecords
import Foundation
import Hummingbird

/// The audit log Dalston writes (who created, renamed, cancelled, deleted, purged what; keys
/// and tokens made and revoked), read as the original serves it: `GET /v1/audit` with filters
/// and a cursor, and `GET /v1/audit/resources/{type}/{id}` for one resource's trail. Admin
/// keys only, each seeing its own tenant's entries.
struct AuditAPI: Sendable {
    let records: RecordStore?
    let guards: RouteGuards

    /// Mounted at `/v1/audit`.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .scope(.admin))
        routes.get { request, context in
            var query = try Self.page(request, context)
            let parameters = request.uri.queryParameters
            query.resourceType = Self.text(parameters, "resource_type")
            query.resourceID = Self.text(parameters, "resource_id")
            query.action = Self.text(parameters, "action")
            query.actor = Self.text(parameters, "actor_id")
            query.requestID = Self.text(parameters, "correlation_id") ?? Self.text(parameters, "request_id")
            query.since = try Self.time(parameters, "start_time")
            query.until = try Self.time(parameters, "end_time")
            return try await self.list(query)
        }
        routes.get("resources/{type}/{id}") { request, context in
            var query = try Self.page(request, context)
            query.resourceType = try context.parameters.require("type")
            query.resourceID = try context.parameters.require("id")
            return try await self.list(query)
        }
        return routes
    }

    private func list(_ query: AuditQuery) async throws -> AuditListResponse {
        guard let records else {
            throw APIError(.serviceUnavailable, code: "audit_unavailable", message: "the audit log is kept in the record database, and this gateway has none configured")
        }
        var ask = query
        ask.limit = query.limit + 1
        let entries = try await records.audit.entries(ask)
        let page = Array(entries.prefix(query.limit))
        let more = entries.count > query.limit
        return AuditListResponse(events: page.map(AuditEventResponse.init), cursor: more ? page.last?.sequence.map(String.init) : nil, hasMore: more)
    }

    /// `limit` (1…100, 25), `cursor` (the last event's id), `sort`, and the caller's tenant.
    private static func page(_ request: Request, _ context: GatewayRequestContext) throws -> AuditQuery {
        let parameters = request.uri.queryParameters
        let limitText = text(parameters, "limit") ?? "25"
        guard let limit = Int(limitText), (1...100).contains(limit) else { throw APIError.badRequest("limit must be a number from 1 to 100", param: "limit") }
        let sort = text(parameters, "sort") ?? "timestamp_desc"
        guard ["timestamp_desc", "timestamp_asc"].contains(sort) else {
            throw APIError.badRequest("sort must be timestamp_desc or timestamp_asc", param: "sort")
        }
        var query = AuditQuery(limit: limit, newestFirst: sort == "timestamp_desc")
        if let cursor = text(parameters, "cursor") {
            guard let after = Int(cursor), after >= 0 else { throw APIError.badRequest("cursor is not one this server issued; start without it", param: "cursor") }
            query.after = after
        }
        query.tenantID = context.tenant
        return query
    }

    private static func text(_ parameters: Hummingbird.Parameters, _ name: String) -> String? {
        parameters[Substring(name)].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
    }

    private static func time(_ parameters: Hummingbird.Parameters, _ name: String) throws -> Date? {
        guard let text = text(parameters, name) else { return nil }
        guard let date = Timestamp.date(text) else { throw APIError.badRequest("\(name) must be an ISO-8601 time, e.g. 2026-12-01T00:00:00Z", param: name) }
        return date
    }
}

/// One audit entry, in the original's shape.
struct AuditEventResponse: Encodable {
    let id: Int?
    let timestamp: String
    let correlationID: String?
    let tenantID: String?
    let actorType: String
    let actorID: String
    let action: String
    let resourceType: String
    let resourceID: String
    let detail: String?

    init(_ entry: AuditEntry) {
        id = entry.sequence
        timestamp = Timestamp.string(entry.at)
        correlationID = entry.requestID
        tenantID = entry.tenantID
        actorType = entry.actor.hasPrefix("key_") ? "api_key" : entry.actor
        actorID = entry.actor
        action = entry.action
        resourceType = entry.resourceType
        resourceID = entry.resourceID
        detail = entry.detail
    }

    enum CodingKeys: String, CodingKey {
        case id, timestamp, action, detail
        case correlationID = "correlation_id"
        case tenantID = "tenant_id"
        case actorType = "actor_type"
        case actorID = "actor_id"
        case resourceType = "resource_type"
        case resourceID = "resource_id"
    }
}

struct AuditListResponse: ResponseEncodable {
    let events: [AuditEventResponse]
    let cursor: String?
    let hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case events, cursor
        case hasMore = "has_more"
    }
}
