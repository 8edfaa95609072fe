import Crypto
import DalstonPipeline
package import Foundation

/// API keys in the record database. A secret is `dk_` and 40 random base-62 characters (238
/// bits); only its SHA-256 is stored, so the table leaks no usable key, and a presented secret is
/// found by its hash through the unique index.
package struct APIKeyTable: Sendable {
    let database: any RecordDatabase
    /// `last_used_at` is written at most this often per key, not on every request.
    static let lastUseResolution: TimeInterval = 60

    package init(database: any RecordDatabase) {
        self.database = database
    }

    package func create(name: String, scopes: Set<APIKeyScope>, expiresAt: Date? = nil, now: Date = Date()) async throws(RecordStoreError) -> CreatedAPIKey {
        try await create(APIKeyTerms(name: name, scopes: scopes, expiresAt: expiresAt), now: now)
    }

    package func create(_ terms: APIKeyTerms, now: Date = Date()) async throws(RecordStoreError) -> CreatedAPIKey {
        guard APIKeyTerms.validTenant(terms.tenantID) else {
            throw .configuration("a tenant is 1 to 64 letters, digits, '-', '_' or '.'")
        }
        let secret = Self.generateSecret()
        var key = APIKey(
            id: "key_" + Self.randomCharacters(16, from: Self.lowercaseHex), prefix: String(secret.prefix(Self.displayedPrefixLength)),
            name: terms.name, scopes: terms.scopes, createdAt: now, expiresAt: terms.expiresAt)
        key.tenantID = terms.tenantID
        key.rateLimit = terms.rateLimit
        key.maxConcurrentJobs = terms.maxConcurrentJobs
        try await database.query(
            """
            INSERT INTO api_keys (id, prefix, secret_hash, name, scopes, created_at, expires_at, tenant_id, rate_limit, max_concurrent_jobs)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            [.text(key.id), .text(key.prefix), .text(Self.hash(secret)), .text(terms.name), .text(terms.scopes.listText), .text(RecordTime.text(now)),
             RecordTime.text(terms.expiresAt), .text(terms.tenantID), .integer(terms.rateLimit),
             .integer(terms.maxConcurrentJobs)])
        return CreatedAPIKey(key: key, secret: secret)
    }

    /// Every key, newest first (revoked and expired ones too: they show as such), optionally
    /// only one tenant's and only those not revoked.
    package func list(tenantID: String? = nil, includeRevoked: Bool = true) async throws(RecordStoreError) -> [APIKey] {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let tenantID {
            binds.append(.text(tenantID))
            conditions.append("tenant_id = $\(binds.count)")
        }
        if !includeRevoked { conditions.append("revoked_at IS NULL") }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        var keys: [APIKey] = []
        for row in try await database.query("SELECT * FROM api_keys \(filter) ORDER BY created_at DESC, id DESC", binds) {
            keys.append(try Self.key(row))
        }
        return keys
    }

    /// The key with this id; nil when there is none.
    package func key(id: String) async throws(RecordStoreError) -> APIKey? {
        try await database.query("SELECT * FROM api_keys WHERE id = $1", [.text(id)]).first.map { row throws(RecordStoreError) in try Self.key(row) }
    }

    /// Revokes the key with this id or displayed prefix; nil when there is none. Revoking twice
    /// keeps the first time.
    package func revoke(_ identifier: String, now: Date = Date()) async throws(RecordStoreError) -> APIKey? {
        let rows = try await database.query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 OR prefix = $2 RETURNING *",
            [.text(RecordTime.text(now)), .text(identifier)])
        return try rows.first.map { row throws(RecordStoreError) in try Self.key(row) }
    }

    /// The key whose secret this is, valid or not (the caller tells revoked from expired); nil
    /// for a secret that was never issued.
    package func authenticate(_ secret: String, now: Date = Date()) async throws(RecordStoreError) -> APIKey? {
        guard secret.hasPrefix("dk_"), secret.utf8.count < 200 else { return nil }
        guard let row = try await database.query("SELECT * FROM api_keys WHERE secret_hash = $1", [.text(Self.hash(secret))]).first else {
            return nil
        }
        var key = try Self.key(row)
        if key.isValid(at: now), (key.lastUsedAt.map { now.timeIntervalSince($0) >= Self.lastUseResolution } ?? true) {
            try await database.query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2", [.text(RecordTime.text(now)), .text(key.id)])
            key.lastUsedAt = now
        }
        return key
    }

    // MARK: Secrets

    static let displayedPrefixLength = 9
    static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    static let lowercaseHex = Array("0123456789abcdef")

    static func generateSecret() -> String {
        "dk_" + randomCharacters(40, from: base62)
    }

    static func randomCharacters(_ count: Int, from alphabet: [Character]) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// SHA-256 of the secret, hex: one-way, and a secret's 238 random bits leave nothing to guess.
    package static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func key(_ row: SQLRow) throws(RecordStoreError) -> APIKey {
        let scopes = Set(try row.string("scopes").split(separator: ",").compactMap { APIKeyScope(rawValue: String($0)) })
        var key = APIKey(
            id: try row.string("id"), prefix: try row.string("prefix"), name: row.optionalString("name") ?? "", scopes: scopes,
            createdAt: RecordTime.date(row.optionalString("created_at")) ?? Date(timeIntervalSince1970: 0),
            expiresAt: RecordTime.date(row.optionalString("expires_at")), revokedAt: RecordTime.date(row.optionalString("revoked_at")),
            lastUsedAt: RecordTime.date(row.optionalString("last_used_at")))
        key.tenantID = row.optionalString("tenant_id") ?? JobTenancy.defaultTenant
        key.rateLimit = row.optionalInt("rate_limit")
        key.maxConcurrentJobs = row.optionalInt("max_concurrent_jobs")
        return key
    }
}
