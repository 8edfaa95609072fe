import DalstonBroker
import DalstonCore
import DalstonPipeline
import DalstonRecords
import Foundation
import Hummingbird

/// Keys and tokens over HTTP, as the original serves them under `/auth`: the caller's own key
/// (`GET /me`), short-lived tokens for browsers (`POST /tokens`), and, for admin keys, the
/// tenant's keys (`POST`/`GET /keys`, `GET`/`DELETE /keys/{id}`). A key sees and revokes only
/// its own tenant's keys; creating and revoking is audited.
struct KeysAPI: Sendable {
    let configuration: GatewayConfiguration
    let records: RecordStore?
    let audit: AuditTrail
    let guards: RouteGuards
    var mint: TokenMint { TokenMint(records: records, audit: audit) }


    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .anyKey)
        routes.get("me") { _, context in
            APIKeyIdentityResponse(caller: context.caller, securityMode: self.configuration.securityMode, limits: self.configuration.limits)
        }
        routes.post("tokens") { request, context in try await self.createToken(request, context) }
        return routes
    }

    func adminRoutes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .scope(.admin))
        routes.post("keys") { request, context in try await self.createKey(request, context) }
        routes.get("keys") { request, context in
            let keys = try await self.requireRecords().apiKeys.list(
                tenantID: self.tenant(context), includeRevoked: request.uri.queryParameters.get("include_revoked") == "true")
            return APIKeyListResponse(keys: keys.map { APIKeyResponse($0, currentKeyID: context.caller?.keyID) }, total: keys.count)
        }
        routes.get("keys/{id}") { _, context in
            APIKeyResponse(try await self.tenantKey(context), currentKeyID: context.caller?.keyID)
        }
        routes.delete("keys/{id}") { _, context in try await self.revokeKey(context) }
        return routes
    }

    private func createKey(_ request: Request, _ context: GatewayRequestContext) async throws -> EditedResponse<APIKeyCreatedResponse> {
        let body = try await JSONRequestBody.read(
            request, allowed: ["name", "scopes", "rate_limit", "max_concurrent_jobs", "expires_at", "expires_in_days", "tenant_id"],
            example: #"{"name": "ci", "scopes": ["jobs:read", "jobs:write"], "rate_limit": 600}"#)
        guard let name = body["name"]?.stringValue?.trimmed, (1...255).contains(name.count), !name.contains(where: \.isNewline) else {
            throw APIError.badRequest("name is required: 1 to 255 characters on one line", param: "name")
        }
        let scopes = try Self.scopes(body["scopes"]) ?? [.jobsRead, .jobsWrite, .realtime]
        let held = context.caller?.scopes ?? Set(APIKeyScope.allCases)
        if let excess = scopes.sorted().first(where: { !held.permits($0) }) {
            throw APIError(.forbidden, code: "insufficient_scope", message: "a key cannot give the scope \(excess.rawValue), which it lacks")
        }
        var terms = APIKeyTerms(name: name, scopes: scopes, tenantID: tenant(context) ?? JobTenancy.defaultTenant)
        if let value = body["tenant_id"], value != .null {
            // Only the operator's keys (DALSTON_API_KEYS, or a keyless gateway) make keys for
            // other tenants; a tenant's admin stays within its tenant.
            guard let tenant = value.stringValue, APIKeyTerms.validTenant(tenant) else {
                throw APIError.badRequest("tenant_id is 1 to 64 letters, digits, '-', '_' or '.'", param: "tenant_id")
            }
            guard tenant == terms.tenantID || context.caller == nil || context.caller?.source == .environment else {
                throw APIError(.forbidden, code: "insufficient_scope", message: "only the operator's keys (DALSTON_API_KEYS) make keys for another tenant")
            }
            terms.tenantID = tenant
        }
        terms.rateLimit = try Self.positive(body["rate_limit"], "rate_limit", upTo: 1_000_000)
        terms.maxConcurrentJobs = try Self.positive(body["max_concurrent_jobs"], "max_concurrent_jobs", upTo: 100_000)
        terms.expiresAt = try Self.expiry(at: body["expires_at"], inDays: body["expires_in_days"])
        let created = try await requireRecords().apiKeys.create(terms)
        try await audit.record(context, "api_key.created", created.key.id, detail: "\(name) (\(scopes.listText)) tenant \(terms.tenantID)")
        return EditedResponse(status: .created, response: APIKeyCreatedResponse(created))
    }

    private func revokeKey(_ context: GatewayRequestContext) async throws -> Response {
        let key = try await tenantKey(context)
        if key.id == context.caller?.keyID {
            throw APIError(.badRequest, code: "cannot_revoke_own_key", message: "a key cannot revoke itself; revoke it with another admin key (or dalston keys revoke)")
        }
        _ = try await requireRecords().apiKeys.revoke(key.id)
        try await audit.record(context, "api_key.revoked", key.id, detail: key.name)
        return Response(status: .noContent)
    }

    private func createToken(_ request: Request, _ context: GatewayRequestContext) async throws -> EditedResponse<SessionTokenResponse> {
        let body = try await JSONRequestBody.read(request, allowed: ["ttl", "scopes"], example: #"{"ttl": 600, "scopes": ["realtime"]}"#, emptyIsObject: true)
        let lifetime = try TokenMint.lifetime(body["ttl"], in: TokenMint.sessionLifetimes, default: 600)
        let minted = try await mint.mint(context, scopes: try Self.scopes(body["scopes"]), kind: .session, lifetime: lifetime)
        return EditedResponse(status: .created, response: SessionTokenResponse(minted))
    }

    /// The caller's tenant; nil on a keyless gateway (every tenant).
    private func tenant(_ context: GatewayRequestContext) -> String? {
        configuration.securityMode == .none ? nil : context.caller?.tenantID ?? JobTenancy.defaultTenant
    }

    /// The key named in the path, if it is the caller's tenant's (another tenant's is a 404,
    /// as if it did not exist).
    private func tenantKey(_ context: GatewayRequestContext) async throws -> APIKey {
        let id = try context.parameters.require("id")
        guard id.count <= 64, let key = try await requireRecords().apiKeys.key(id: id), tenant(context).map({ $0 == key.tenantID }) ?? true else {
            throw APIError(.notFound, code: "api_key_not_found", message: "no API key \(id.prefix(64)) in this tenant; GET /auth/keys lists them")
        }
        return key
    }

    private func requireRecords() throws -> RecordStore {
        guard let records else {
            throw APIError(.serviceUnavailable, code: "keys_unavailable", message: "API keys are kept in the record database, and this gateway has none configured")
        }
        return records
    }

    /// `scopes` from a JSON body: a non-empty list of known names; nil when absent.
    private static func scopes(_ value: JSONValue?) throws -> Set<APIKeyScope>? {
        guard let value, value != .null else { return nil }
        guard let names = value.stringList, !names.isEmpty else {
            throw APIError.badRequest("scopes is a non-empty list of \(APIKeyScope.allCases.map(\.rawValue).joined(separator: ", "))", param: "scopes")
        }
        do {
            return try APIKeyScope.parseList(names.joined(separator: ","))
        } catch {
            throw APIError(.badRequest, code: "invalid_scope", message: error.description, param: "scopes", dialect: nil)
        }
    }

    private static func positive(_ value: JSONValue?, _ name: String, upTo maximum: Int) throws -> Int? {
        guard let value, value != .null else { return nil }
        guard let number = value.numberValue, number == number.rounded(), number >= 1, number <= Double(maximum) else {
            throw APIError.badRequest("\(name) is a whole number from 1 to \(maximum), or null for the gateway's default", param: name)
        }
        return Int(number)
    }

    /// `expires_at` (RFC 3339) or `expires_in_days`; neither: the key does not expire.
    private static func expiry(at: JSONValue?, inDays: JSONValue?) throws -> Date? {
        if let at, at != .null {
            guard let text = at.stringValue, let date = Timestamp.date(text), date > Date() else {
                throw APIError.badRequest("expires_at is a future time in RFC 3339 form, e.g. 2027-01-31T00:00:00Z", param: "expires_at")
            }
            return date
        }
        guard let inDays, inDays != .null else { return nil }
        guard let days = inDays.numberValue, days > 0, days <= 36_500 else {
            throw APIError.badRequest("expires_in_days is a number of days from 1 to 36500", param: "expires_in_days")
        }
        return Date().addingTimeInterval(days * 86_400)
    }
}
