import Foundation
import HTTPTypes

/// The error shape each API's clients parse: Dalston's `{"error":{"code","message"}}`, OpenAI's
/// `{"error":{"message","type","param","code"}}`, ElevenLabs' `{"detail":{"status","message"}}`.
enum ErrorDialect: Sendable {
    case native, openAI, elevenLabs

    func body(status: HTTPResponse.Status, code: String, message: String, param: String? = nil) -> [UInt8] {
        let object: [String: Any] = switch self {
        case .native:
            ["error": ["code": code, "message": message]]
        case .openAI:
            ["error": ["message": message, "type": Self.openAIType(status), "param": param.map { $0 as Any } ?? NSNull(), "code": code] as [String: Any]]
        case .elevenLabs:
            ["detail": ["status": code, "message": message]]
        }
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// OpenAI's error `type` for a status.
    private static func openAIType(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }
}
