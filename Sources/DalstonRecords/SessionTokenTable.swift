package import Foundation

/// A short-lived token minted by an API key for a browser: it acts with a subset of the key's
/// scopes, for the key's tenant, until it expires (and, single-use, only once). Only its
/// SHA-256 is stored, as for keys.
package struct SessionToken: Sendable, Equatable {
    package enum Kind: String, Sendable {
        /// `POST /auth/tokens`: usable until it expires.
        case session
        /// ElevenLabs' `single-use-token` and OpenAI's `client_secret`: one WebSocket, once.
        case singleUse = "single_use"
    }

    package var id: String
    package var keyID: String
    package var tenantID: String
    package var scopes: Set<APIKeyScope>
    package var kind: Kind
    package var createdAt: Date
    package var expiresAt: Date
    package var usedAt: Date?
}

/// A token just minted: its secret exists only in this answer.
package struct MintedSessionToken: Sendable {
    package var token: SessionToken
    package var secret: String
}

/// Session tokens in the record database, shared by every gateway.
package struct SessionTokenTable: Sendable {
    let database: any RecordDatabase

    package init(database: any RecordDatabase) {
        self.database = database
    }

    /// Secrets start with `tk_`: a gateway tells a token from a key (`dk_`) before any lookup.
    package static let secretPrefix = "tk_"

    package func mint(
        for key: (id: String, tenantID: String), scopes: Set<APIKeyScope>, kind: SessionToken.Kind, lifetime: TimeInterval, now: Date = Date()
    ) async throws(RecordStoreError) -> MintedSessionToken {
        let secret = Self.secretPrefix + APIKeyTable.randomCharacters(40, from: APIKeyTable.base62)
        let token = SessionToken(
            id: "tok_" + APIKeyTable.randomCharacters(16, from: APIKeyTable.lowercaseHex), keyID: key.id, tenantID: key.tenantID, scopes: scopes,
            kind: kind, createdAt: now, expiresAt: now.addingTimeInterval(lifetime))
        try await database.query(
            """
            INSERT INTO session_tokens (id, secret_hash, key_id, tenant_id, scopes, kind, created_at, expires_at, expires_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            [.text(token.id), .text(APIKeyTable.hash(secret)), .text(key.id), .text(key.tenantID), .text(scopes.listText), .text(kind.rawValue),
             .text(RecordTime.text(now)), .text(RecordTime.text(token.expiresAt)), .integer(RecordTime.milliseconds(token.expiresAt))])
        return MintedSessionToken(token: token, secret: secret)
    }

    /// The token whose secret this is, as stored (the caller checks expiry); nil for a secret
    /// never issued.
    package func find(_ secret: String) async throws(RecordStoreError) -> SessionToken? {
        guard secret.hasPrefix(Self.secretPrefix), secret.utf8.count < 200 else { return nil }
        return try await database.query("SELECT * FROM session_tokens WHERE secret_hash = $1", [.text(APIKeyTable.hash(secret))]).first
            .map { row throws(RecordStoreError) in try Self.token(row) }
    }

    /// Marks a single-use token used, atomically: true for exactly one caller, whichever gateway
    /// it runs on; false when it was used already or has expired.
    package func consume(_ token: SessionToken, now: Date = Date()) async throws(RecordStoreError) -> Bool {
        !(try await database.query(
            "UPDATE session_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_ms > $3 RETURNING id",
            [.text(RecordTime.text(now)), .text(token.id), .integer(RecordTime.milliseconds(now))])).isEmpty
    }

    /// Deletes tokens expired for more than a day (kept that long so a late use is refused as
    /// expired rather than unknown). Returns how many went.
    @discardableResult
    package func purgeExpired(now: Date = Date()) async throws(RecordStoreError) -> Int {
        try await database.query(
            "DELETE FROM session_tokens WHERE expires_ms < $1 RETURNING id", [.integer(RecordTime.milliseconds(now.addingTimeInterval(-86_400)))]).count
    }

    static func token(_ row: SQLRow) throws(RecordStoreError) -> SessionToken {
        SessionToken(
            id: try row.string("id"), keyID: try row.string("key_id"), tenantID: try row.string("tenant_id"),
            scopes: Set(try row.string("scopes").split(separator: ",").compactMap { APIKeyScope(rawValue: String($0)) }),
            kind: SessionToken.Kind(rawValue: try row.string("kind")) ?? .singleUse,
            createdAt: RecordTime.date(row.optionalString("created_at")) ?? Date(timeIntervalSince1970: 0),
            expiresAt: RecordTime.date(row.optionalString("expires_at")) ?? Date(timeIntervalSince1970: 0),
            usedAt: RecordTime.date(row.optionalString("used_at")))
    }
}
