import DalstonPipeline
package import Foundation

/// An API key as stored: never its secret, only the secret's SHA-256 and its first characters
/// (`dk_Ab3x9…`) so people can tell their keys apart.
package struct APIKey: Sendable, Equatable, Codable {
    package var id: String
    package var prefix: String
    package var name: String
    package var scopes: Set<APIKeyScope>
    package var createdAt: Date
    package var expiresAt: Date?
    package var revokedAt: Date?
    package var lastUsedAt: Date?
    /// Whose jobs the key sees and submits (the default tenant, 00000000-…, unless made for another).
    package var tenantID: String = JobTenancy.defaultTenant
    /// Requests per minute this key may make; nil: the gateway's default.
    package var rateLimit: Int?
    /// Jobs of this key in progress at once; nil: the gateway's default.
    package var maxConcurrentJobs: Int?

    /// Neither revoked nor expired at `date`.
    package func isValid(at date: Date = Date()) -> Bool {
        unusable(at: date) == nil
    }

    /// Why the key no longer serves.
    package enum Unusable: Sendable, Equatable {
        case revoked, expired
    }

    /// Why the key cannot be used at `date` (revocation first); nil while it can.
    package func unusable(at date: Date = Date()) -> Unusable? {
        if revokedAt != nil { return .revoked }
        if let expiresAt, expiresAt <= date { return .expired }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case id, prefix, name, scopes
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case lastUsedAt = "last_used_at"
        case tenantID = "tenant_id"
        case rateLimit = "rate_limit"
        case maxConcurrentJobs = "max_concurrent_jobs"
    }
}

/// What a new key may do, and whose it is.
package struct APIKeyTerms: Sendable, Equatable {
    package var name: String
    package var scopes: Set<APIKeyScope>
    package var expiresAt: Date?
    package var tenantID: String
    package var rateLimit: Int?
    package var maxConcurrentJobs: Int?

    package init(
        name: String, scopes: Set<APIKeyScope>, expiresAt: Date? = nil, tenantID: String = JobTenancy.defaultTenant, rateLimit: Int? = nil,
        maxConcurrentJobs: Int? = nil
    ) {
        self.name = name
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.tenantID = tenantID
        self.rateLimit = rateLimit
        self.maxConcurrentJobs = maxConcurrentJobs
    }

    /// A tenant is a short plain name (letters, digits, `-`, `_`, `.`): it appears in logs and
    /// filters, and must not carry anything that could forge either.
    package static func validTenant(_ tenant: String) -> Bool {
        (1...64).contains(tenant.utf8.count) && tenant.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0))
        }
    }
}

/// A key just made: the only moment its secret exists outside the client's hands.
package struct CreatedAPIKey: Sendable {
    package var key: APIKey
    package var secret: String
}
