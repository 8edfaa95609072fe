import Crypto
import Foundation

/// Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>` over
/// `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64 part of a `whsec_` secret
/// (a secret without that form is used as it is).
package enum WebhookSigner {
    package static func signature(id: String, timestamp: Int, body: String, secret: String) -> String {
        let message = Data("\(id).\(timestamp).\(body)".utf8)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key(secret)))
        return "v1," + Data(code).base64EncodedString()
    }

    static func key(_ secret: String) -> Data {
        if secret.hasPrefix("whsec_"), let decoded = Data(base64Encoded: String(secret.dropFirst("whsec_".count))) { return decoded }
        return Data(secret.utf8)
    }
}
