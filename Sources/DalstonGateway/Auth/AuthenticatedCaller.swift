import DalstonPipeline
package import DalstonRecords
package import Foundation

/// Who is calling, once `AuthenticationMiddleware` has checked their key or token.
package struct AuthenticatedCaller: Sendable, Equatable {
    package enum Source: String, Sendable {
        /// A key from `dalston keys create` or `POST /auth/keys`, in the record database.
        case database
        /// One of `DALSTON_API_KEYS` (all scopes, default tenant).
        case environment
        /// A short-lived token minted by a database key (`POST /auth/tokens` and the dialects'
        /// equivalents); it acts for that key, with its own scopes.
        case sessionToken = "session_token"
    }

    /// The key's id (`key_…`), or a fingerprint of an environment key: safe to log and count by.
    /// A token's caller carries its key's id, so limits count against that key.
    package var keyID: String
    package var name: String
    /// The key's first characters (`dk_Ab3x9`), for people to recognise it.
    package var prefix: String?
    package var scopes: Set<APIKeyScope>
    package var source: Source
    package var tenantID: String
    /// Requests per minute, concurrent jobs (nil: the gateway's defaults).
    package var rateLimit: Int?
    package var maxConcurrentJobs: Int?
    package var createdAt: Date?
    package var expiresAt: Date?
    package var lastUsedAt: Date?
    /// The token's id when the caller presented a token.
    package var tokenID: String?

    package init(
        keyID: String, name: String, prefix: String?, scopes: Set<APIKeyScope>, source: Source, tenantID: String = JobTenancy.defaultTenant,
        createdAt: Date? = nil, expiresAt: Date? = nil
    ) {
        self.keyID = keyID
        self.name = name
        self.prefix = prefix
        self.scopes = scopes
        self.source = source
        self.tenantID = tenantID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    init(_ key: APIKey) {
        self.init(
            keyID: key.id, name: key.name, prefix: key.prefix, scopes: key.scopes, source: .database, tenantID: key.tenantID,
            createdAt: key.createdAt, expiresAt: key.expiresAt)
        rateLimit = key.rateLimit
        maxConcurrentJobs = key.maxConcurrentJobs
        lastUsedAt = key.lastUsedAt
    }

    /// The caller a token gives: its key's identity and limits, the token's scopes and expiry.
    init(_ token: SessionToken, of key: AuthenticatedCaller) {
        self = key
        source = .sessionToken
        scopes = token.scopes
        expiresAt = min(token.expiresAt, key.expiresAt ?? token.expiresAt)
        tokenID = token.id
    }
}
