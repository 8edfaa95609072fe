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

    /// Neither revoked nor expired at `date`.
    package func isValid(at date: Date = Date()) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > date } ?? true)
    }

    enum CodingKeys: String, CodingKey {
        case id, prefix, name, scopes
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case lastUsedAt = "last_used_at"
    }
}

/// A key just made: the only moment its secret exists outside the client's hands.
package struct CreatedAPIKey: Sendable {
    package var key: APIKey
    package var secret: String
}
