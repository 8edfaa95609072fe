import DalstonCore
import DalstonRecords
import Hummingbird

/// `POST /auth/tokens` (the original's shape) and ElevenLabs' `POST /v1/single-use-token/{type}`
/// (whose SDK reads `token`; `token_type` is there for the original's clients).
struct SessionTokenResponse: ResponseEncodable {
    let token: String
    let expiresAt: String
    let scopes: [String]
    let tenantID: String
    let tokenType: String?

    init(_ minted: MintedSessionToken, tokenType: String? = nil) {
        token = minted.secret
        expiresAt = Timestamp.string(minted.token.expiresAt)
        scopes = minted.token.scopes.sorted().map(\.rawValue)
        tenantID = minted.token.tenantID
        self.tokenType = tokenType
    }

    enum CodingKeys: String, CodingKey {
        case token, scopes
        case expiresAt = "expires_at"
        case tenantID = "tenant_id"
        case tokenType = "token_type"
    }
}
