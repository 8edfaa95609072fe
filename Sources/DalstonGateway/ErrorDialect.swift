import Foundation
import HTTPTypes

/// The error shape each API's clients parse: Dalston's `{"error":{"code","message"}}`, OpenAI's
/// `{"error":{"message","type","param","code"}}`, ElevenLabs' `{"detail":{"status","message"}}`.
enum ErrorDialect: Sendable {
    case native, openAI, elevenLabs

    /// The dialect of a path, for errors raised before a handler chose one (authentication, a
    /// broker that is down). `/v1/audio/transcriptions` is native unless its handler says OpenAI.
    init(path: String) {
        if path.hasPrefix("/v1/speech-to-text") {
            self = .elevenLabs
        } else if path.hasPrefix("/v1/audio/translations") || path.hasPrefix("/v1/models") {
            self = .openAI
        } else {
            self = .native
        }
    }

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
