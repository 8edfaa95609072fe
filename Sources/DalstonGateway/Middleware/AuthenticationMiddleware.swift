import DalstonCore
import DalstonMetrics
import DalstonRecords
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Who may call a collection's routes.
enum RouteAccess: Sendable {
    /// Probes and metrics; `/admin/` checks its own token (`DALSTON_ADMIN_TOKEN`).
    case open
    /// Any valid key (`/auth/me`).
    case anyKey
    /// Reading needs `jobs:read`, changing `jobs:write`.
    case jobs
    /// One scope whatever the method (`webhooks`, `realtime`).
    case scope(APIKeyScope)

    func scope(for method: HTTPRequest.Method) -> APIKeyScope? {
        switch self {
        case .open, .anyKey: nil
        case .scope(let scope): scope
        case .jobs: [.get, .head, .options].contains(method) ? .jobsRead : .jobsWrite
        }
    }
}

/// Checks the caller's API key (`Authorization: Bearer`, the ElevenLabs SDK's `xi-api-key`, or
/// `?api_key=` on a WebSocket upgrade) and the scope its route collection needs. Keys come from
/// the record database (`dalston keys create`, stored hashed) or from `DALSTON_API_KEYS`, which
/// act as admin keys for simple set-ups.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let access: RouteAccess
    let keys: APIKeyCheck

    init(_ access: RouteAccess, keys: APIKeyCheck) {
        self.access = access
        self.keys = keys
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard keys.configuration.securityMode == .apiKey else { return try await next(request, context) }
        if case .open = access { return try await next(request, context) }
        let caller = try await keys.authenticate(APIKeyCheck.presentedKey(request), forUpgrade: request.headers[.upgrade]?.lowercased() == "websocket")
        if let needed = access.scope(for: request.method), !caller.scopes.permits(needed) {
            keys.refuse("insufficient_scope", caller: caller)
            throw APIError(
                .forbidden, code: "insufficient_scope",
                message: "this API key lacks the scope \(needed.rawValue) that \(request.method.rawValue) \(request.uri.path) needs; its scopes: \(caller.scopes.listText)")
        }
        var context = context
        context.caller = caller
        context.clientKey = caller.keyID
        return try await next(request, context)
    }
}

/// The check of a presented API key against `DALSTON_API_KEYS` and the record database, with
/// its refusals logged and counted.
struct APIKeyCheck: Sendable {
    let configuration: GatewayConfiguration
    let records: RecordStore?
    let metrics: Instruments
    let logger: Logger

    init(configuration: GatewayConfiguration, records: RecordStore?, metrics: Instruments, logger: Logger = Logger(label: "dalston.gateway.auth")) {
        self.configuration = configuration
        self.records = records
        self.metrics = metrics
        self.logger = logger
    }

    /// The caller this key or token makes. A single-use token is accepted only to open a
    /// WebSocket (`forUpgrade`), and is spent by doing so.
    func authenticate(_ key: String?, forUpgrade: Bool = false) async throws -> AuthenticatedCaller {
        guard let key else {
            refuse("missing")
            throw APIError.unauthorized
        }
        if Self.matchesAnyKey(key, configuration.apiKeys) {
            return AuthenticatedCaller(keyID: Self.fingerprint(key), name: "DALSTON_API_KEYS", prefix: nil, scopes: Set(APIKeyScope.allCases), source: .environment)
        }
        if key.hasPrefix(SessionTokenTable.secretPrefix) { return try await authenticateToken(key, forUpgrade: forUpgrade) }
        guard let records, let stored = try await records.apiKeys.authenticate(key) else {
            refuse("invalid")
            throw APIError.unauthorized
        }
        return try usable(stored)
    }

    /// The key as a caller, when neither revoked nor expired.
    func usable(_ stored: APIKey, now: Date = Date()) throws -> AuthenticatedCaller {
        switch stored.unusable(at: now) {
        case .revoked?:
            refuse("revoked", caller: AuthenticatedCaller(stored))
            throw APIError(.unauthorized, code: "key_revoked", message: "this API key (\(stored.prefix)…) was revoked; ask for a new one (dalston keys create)")
        case .expired?:
            refuse("expired", caller: AuthenticatedCaller(stored))
            throw APIError(.unauthorized, code: "key_expired", message: "this API key (\(stored.prefix)…) has expired; ask for a new one (dalston keys create)")
        case nil:
            return AuthenticatedCaller(stored)
        }
    }

    private func authenticateToken(_ secret: String, forUpgrade: Bool) async throws -> AuthenticatedCaller {
        guard let records, let token = try await records.sessionTokens.find(secret) else {
            refuse("invalid")
            throw APIError.unauthorized
        }
        let now = Date()
        guard token.expiresAt > now else {
            refuse("token_expired")
            throw APIError(.unauthorized, code: "token_expired", message: "this token expired at \(Timestamp.string(token.expiresAt)); mint a new one")
        }
        // A token lives no longer than its key's right to mint it.
        let caller: AuthenticatedCaller
        if let key = try await records.apiKeys.key(id: token.keyID) {
            caller = AuthenticatedCaller(token, of: try usable(key, now: now))
        } else if configuration.apiKeys.contains(where: { Self.fingerprint($0) == token.keyID }) {
            var environmentCaller = AuthenticatedCaller(
                keyID: token.keyID, name: "DALSTON_API_KEYS", prefix: nil, scopes: token.scopes, source: .sessionToken, expiresAt: token.expiresAt)
            environmentCaller.tokenID = token.id
            caller = environmentCaller
        } else {
            refuse("revoked")
            throw APIError(.unauthorized, code: "key_revoked", message: "the API key that minted this token no longer exists; mint a new token with a valid key")
        }
        if token.kind == .singleUse {
            guard forUpgrade else {
                refuse("token_misused")
                throw APIError(
                    .unauthorized, code: "token_not_allowed",
                    message: "a single-use token only opens a realtime WebSocket; call the HTTP API with an API key")
            }
            guard try await records.sessionTokens.consume(token, now: now) else {
                refuse("token_used")
                throw APIError(.unauthorized, code: "token_used", message: "this single-use token has been used already; mint a new one for each connection")
            }
        }
        return caller
    }

    /// The `reason` label values of `dalston_gateway_auth_failures_total`.
    static let refusalReasons = ["missing", "invalid", "revoked", "expired", "insufficient_scope", "token_expired", "token_used", "token_misused"]

    func refuse(_ reason: String, caller: AuthenticatedCaller? = nil) {
        var metadata: Logger.Metadata = ["reason": "\(reason)"]
        if let caller { metadata["key_id"] = "\(caller.keyID)" }
        logger.warning("authentication_failed", metadata: metadata)
        metrics.increment(DalstonMetric.gatewayAuthFailures, [("reason", reason)])
    }

    static func presentedKey(_ request: Request) -> String? {
        if let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("bearer ") {
            return String(authorization.dropFirst("bearer ".count)).trimmed
        }
        if let elevenLabsKey = request.headers[.elevenLabsAPIKey] {
            return elevenLabsKey.trimmed
        }
        if request.headers[.upgrade]?.lowercased() == "websocket" {
            // Browsers cannot set headers on a WebSocket: the key may come in the query.
            return (request.uri.queryParameters.get("api_key") ?? request.uri.queryParameters.get("token"))?.trimmed
        }
        return nil
    }

    /// A stable name for an environment key in per-client counters: 64-bit FNV-1a of the key,
    /// so neither Redis nor the logs ever hold the key itself.
    static func fingerprint(_ key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return "key_" + String(hash, radix: 16)
    }

    /// Compares against every key in constant time per key, so response timing does not reveal
    /// how much of a guessed key was right, nor which key came close.
    static func matchesAnyKey(_ candidate: String, _ keys: Set<String>) -> Bool {
        keys.reduce(false) { matched, key in ConstantTime.equals(candidate, key) || matched }
    }
}
