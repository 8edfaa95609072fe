import DalstonCore
import DalstonRecords
import Hummingbird

/// A key as `GET /auth/keys[/{id}]` shows it (the original's fields): never its secret.
struct APIKeyResponse: ResponseEncodable {
    let id: String
    let prefix: String
    let name: String
    let tenantID: String
    let scopes: [String]
    let rateLimit: Int?
    let maxConcurrentJobs: Int?
    let createdAt: String
    let lastUsedAt: String?
    let expiresAt: String?
    let isCurrent: Bool
    let isRevoked: Bool

    init(_ key: APIKey, currentKeyID: String?) {
        id = key.id
        prefix = key.prefix
        name = key.name
        tenantID = key.tenantID
        scopes = key.scopes.sorted().map(\.rawValue)
        rateLimit = key.rateLimit
        maxConcurrentJobs = key.maxConcurrentJobs
        createdAt = Timestamp.string(key.createdAt)
        lastUsedAt = key.lastUsedAt.map(Timestamp.string)
        expiresAt = key.expiresAt.map(Timestamp.string)
        isCurrent = key.id == currentKeyID
        isRevoked = key.revokedAt != nil
    }

    enum CodingKeys: String, CodingKey {
        case id, prefix, name, scopes
        case tenantID = "tenant_id"
        case rateLimit = "rate_limit"
        case maxConcurrentJobs = "max_concurrent_jobs"
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
        case expiresAt = "expires_at"
        case isCurrent = "is_current"
        case isRevoked = "is_revoked"
    }

    /// Absent values are `null`, as in the original's answers.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(prefix, forKey: .prefix)
        try container.encode(name, forKey: .name)
        try container.encode(tenantID, forKey: .tenantID)
        try container.encode(scopes, forKey: .scopes)
        try container.encode(rateLimit, forKey: .rateLimit)
        try container.encode(maxConcurrentJobs, forKey: .maxConcurrentJobs)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(isCurrent, forKey: .isCurrent)
        try container.encode(isRevoked, forKey: .isRevoked)
    }
}
