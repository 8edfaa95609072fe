package import DalstonRecords
package import Foundation

/// Who is calling, once `AuthenticationMiddleware` has checked their key.
package struct AuthenticatedCaller: Sendable, Equatable {
    package enum Source: String, Sendable {
        /// A key from `dalston keys create`, in the record database.
        case database
        /// One of `DALSTON_API_KEYS` (all scopes).
        case environment
    }

    /// The key's id (`key_…`), or a fingerprint of an environment key: safe to log and count by.
    package var keyID: String
    package var name: String
    /// The key's first characters (`dk_Ab3x9`), for people to recognise it.
    package var prefix: String?
    package var scopes: Set<APIKeyScope>
    package var source: Source
    package var createdAt: Date?
    package var expiresAt: Date?

    package init(keyID: String, name: String, prefix: String?, scopes: Set<APIKeyScope>, source: Source, createdAt: Date? = nil, expiresAt: Date? = nil) {
        self.keyID = keyID
        self.name = name
        self.prefix = prefix
        self.scopes = scopes
        self.source = source
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    init(_ key: APIKey) {
        self.init(keyID: key.id, name: key.name, prefix: key.prefix, scopes: key.scopes, source: .database, createdAt: key.createdAt, expiresAt: key.expiresAt)
    }
}
