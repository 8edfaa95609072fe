import DalstonRecords
import Hummingbird

/// `POST /auth/keys`: the new key as `GET /auth/keys/{id}` shows it, with its secret in `key`,
/// the only time the secret is shown.
struct APIKeyCreatedResponse: ResponseEncodable {
    let details: APIKeyResponse
    let key: String

    init(_ created: CreatedAPIKey) {
        details = APIKeyResponse(created.key, currentKeyID: nil)
        key = created.secret
    }

    enum CodingKeys: String, CodingKey {
        case key
    }

    func encode(to encoder: any Encoder) throws {
        try details.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
    }
}

/// `GET /auth/keys`.
struct APIKeyListResponse: ResponseEncodable {
    let keys: [APIKeyResponse]
    let total: Int
}
