import DalstonCore
import DalstonRecords
import Hummingbird

/// `POST /auth/keys`: the new key with its secret, the only time the secret is shown.
struct APIKeyCreatedResponse: ResponseEncodable {
    let id: String
    let key: String
    let prefix: String
    let name: String
    let tenantID: String
    let scopes: [String]
    let rateLimit: Int?
    let maxConcurrentJobs: Int?
    let createdAt: String
    let expiresAt: String?

    init(_ created: CreatedAPIKey) {
        id = created.key.id
        key = created.secret
        prefix = created.key.prefix
        name = created.key.name
        tenantID = created.key.tenantID
        scopes = created.key.scopes.sorted().map(\.rawValue)
        rateLimit = created.key.rateLimit
        maxConcurrentJobs = created.key.maxConcurrentJobs
        createdAt = Timestamp.string(created.key.createdAt)
        expiresAt = created.key.expiresAt.map(Timestamp.string)
    }

    enum CodingKeys: String, CodingKey {
        case id, key, prefix, name, scopes
        case tenantID = "tenant_id"
        case rateLimit = "rate_limit"
        case maxConcurrentJobs = "max_concurrent_jobs"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }

    /// Absent values are `null`, as in the original's answers.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(key, forKey: .key)
        try container.encode(prefix, forKey: .prefix)
        try container.encode(name, forKey: .name)
        try container.encode(tenantID, forKey: .tenantID)
        try container.encode(scopes, forKey: .scopes)
        try container.encode(rateLimit, forKey: .rateLimit)
        try container.encode(maxConcurrentJobs, forKey: .maxConcurrentJobs)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(expiresAt, forKey: .expiresAt)
    }
}

/// `GET /auth/keys`.
struct APIKeyListResponse: ResponseEncodable {
    let keys: [APIKeyResponse]
    let total: Int
}
