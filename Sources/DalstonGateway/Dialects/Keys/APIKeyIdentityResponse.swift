import DalstonCore
import DalstonRecords
import Hummingbird

/// The body of `GET /auth/me`.
struct APIKeyIdentityResponse: ResponseEncodable {
    let securityMode: String
    let keyID: String?
    let name: String?
    let prefix: String?
    let source: String?
    let scopes: [String]
    let createdAt: String?
    let expiresAt: String?

    init(caller: AuthenticatedCaller?, securityMode: GatewayConfiguration.SecurityMode) {
        self.securityMode = securityMode.rawValue
        keyID = caller?.keyID
        name = caller?.name
        prefix = caller?.prefix
        source = caller?.source.rawValue
        // Without authentication every route is open to everyone.
        scopes = (caller?.scopes ?? Set(APIKeyScope.allCases)).sorted().map(\.rawValue)
        createdAt = caller?.createdAt.map(Timestamp.string)
        expiresAt = caller?.expiresAt.map(Timestamp.string)
    }

    enum CodingKeys: String, CodingKey {
        case name, prefix, source, scopes
        case securityMode = "security_mode"
        case keyID = "key_id"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }
}
