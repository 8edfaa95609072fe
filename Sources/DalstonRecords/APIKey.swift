import Foundation

/// An API key as stored: never its secret, only the secret's SHA-256 and its first characters
/// (`dk_Ab3x9…`) so people can tell their keys apart.
public struct APIKey: Sendable, Equatable, Codable {
    public var id: String
    public var prefix: String
    public var name: String
    public var scopes: Set<APIKeyScope>
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    /// Neither revoked nor expired at `date`.
    public func isValid(at date: Date = Date()) -> Bool {
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
public struct CreatedAPIKey: Sendable {
    public var key: APIKey
    public var secret: String
}
