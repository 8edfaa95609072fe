import DalstonCore
import DalstonPipeline
import DalstonRecords
import Hummingbird

/// The body of `GET /auth/me`: the original's fields (`id`, `tenant_id`, `rate_limit`,
/// `last_used_at`, …) and ours (`security_mode`, `source`; `key_id` as `id`'s old name).
struct APIKeyIdentityResponse: ResponseEncodable {
    let securityMode: String
    let id: String?
    let keyID: String?
    let name: String?
    let prefix: String?
    let source: String?
    let tenantID: String
    let scopes: [String]
    let rateLimit: Int?
    let maxConcurrentJobs: Int?
    let createdAt: String?
    let lastUsedAt: String?
    let expiresAt: String?

    init(caller: AuthenticatedCaller?, securityMode: GatewayConfiguration.SecurityMode, limits: RequestLimits) {
        self.securityMode = securityMode.rawValue
        id = caller?.keyID
        keyID = caller?.keyID
        name = caller?.name
        prefix = caller?.prefix
        source = caller?.source.rawValue
        tenantID = caller?.tenantID ?? JobTenancy.defaultTenant
        // Without authentication every route is open to everyone.
        scopes = (caller?.scopes ?? Set(APIKeyScope.allCases)).sorted().map(\.rawValue)
        rateLimit = limits.requestsPerMinute(for: caller)
        maxConcurrentJobs = limits.concurrentJobs(for: caller)
        createdAt = caller?.createdAt.map(Timestamp.string)
        lastUsedAt = caller?.lastUsedAt.map(Timestamp.string)
        expiresAt = caller?.expiresAt.map(Timestamp.string)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, prefix, source, scopes
        case securityMode = "security_mode"
        case keyID = "key_id"
        case tenantID = "tenant_id"
        case rateLimit = "rate_limit"
        case maxConcurrentJobs = "max_concurrent_jobs"
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
        case expiresAt = "expires_at"
    }

    /// Absent values are `null`, as in the original's answers (clients read the keys).
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(securityMode, forKey: .securityMode)
        try container.encode(id, forKey: .id)
        try container.encode(keyID, forKey: .keyID)
        try container.encode(name, forKey: .name)
        try container.encode(prefix, forKey: .prefix)
        try container.encode(source, forKey: .source)
        try container.encode(tenantID, forKey: .tenantID)
        try container.encode(scopes, forKey: .scopes)
        try container.encode(rateLimit, forKey: .rateLimit)
        try container.encode(maxConcurrentJobs, forKey: .maxConcurrentJobs)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(expiresAt, forKey: .expiresAt)
    }
}
