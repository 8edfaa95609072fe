import DalstonBroker
import DalstonPipeline
import DalstonRecords
import Foundation

/// Mints short-lived tokens for browsers, for every dialect's token route: a key may give a
/// token no scope it lacks itself, a token cannot mint another, and minting realtime tokens
/// needs the `realtime` scope (as in the original).
struct TokenMint: Sendable {
    let records: RecordStore?
    let audit: AuditTrail

    /// Lifetimes a client may ask for, in seconds.
    static let sessionLifetimes = 60.0...3600.0
    static let singleUseLifetimes = 30.0...3600.0

    func mint(
        _ context: GatewayRequestContext, scopes requested: Set<APIKeyScope>?, kind: SessionToken.Kind, lifetime: TimeInterval
    ) async throws -> MintedSessionToken {
        guard let records else {
            throw APIError(.serviceUnavailable, code: "tokens_unavailable", message: "tokens are kept in the record database, and this gateway has none configured")
        }
        let caller = context.caller
        if caller?.source == .sessionToken {
            throw APIError(.forbidden, code: "token_cannot_mint", message: "a token cannot mint another token; mint it with an API key")
        }
        let held = caller?.scopes ?? Set(APIKeyScope.allCases)
        guard held.permits(.realtime) else {
            throw APIError(.forbidden, code: "insufficient_scope", message: "minting a token needs the realtime scope; this key's scopes: \(held.listText)")
        }
        let scopes = requested ?? [.realtime]
        if let excess = scopes.sorted().first(where: { !held.permits($0) }) {
            throw APIError(.forbidden, code: "insufficient_scope", message: "a token cannot have the scope \(excess.rawValue), which this key lacks; its scopes: \(held.listText)")
        }
        // Keyless gateways accept anything; their tokens still work where a client expects one.
        let owner = (id: caller?.keyID ?? "anonymous", tenantID: caller?.tenantID ?? JobTenancy.defaultTenant)
        let minted = try await records.sessionTokens.mint(for: owner, scopes: scopes, kind: kind, lifetime: lifetime)
        try await audit.record(context, "session_token.created", minted.token.id, detail: "\(kind.rawValue) \(scopes.listText) until \(minted.token.expiresAt)")
        return minted
    }

    /// `ttl` from a JSON body (seconds), within `range`; `defaultValue` when absent.
    static func lifetime(_ value: JSONValue?, in range: ClosedRange<Double>, default defaultValue: Double) throws -> TimeInterval {
        guard let value, value != .null else { return defaultValue }
        guard let seconds = value.numberValue, seconds == seconds.rounded(), range.contains(seconds) else {
            throw APIError.badRequest("ttl is a whole number of seconds from \(Int(range.lowerBound)) to \(Int(range.upperBound))", param: "ttl")
        }
        return seconds
    }
}
