import Foundation
import HTTPTypes

/// The error shape each API's clients parse: Dalston's `{"error":{"code","message"}}`, OpenAI's
/// `{"error":{"message","type","param","code"}}`, ElevenLabs' `{"detail":{"status","message"}}`.
enum ErrorDialect: Sendable {
    case native, openAI, elevenLabs

    func body(status: HTTPResponse.Status, code: String, message: String, param: String? = nil) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let encoded: Data? = switch self {
        case .native: try? encoder.encode(NativeErrorBody(error: .init(code: code, message: message)))
        case .openAI: try? encoder.encode(OpenAIErrorBody(error: .init(message: message, type: Self.openAIType(status), param: param, code: code)))
        case .elevenLabs: try? encoder.encode(ElevenLabsErrorBody(detail: .init(status: code, message: message)))
        }
        return Array(encoded ?? Data(#"{"error":{"code":"internal_error","message":"the error could not be encoded"}}"#.utf8))
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

/// Dalston's error body.
package struct NativeErrorBody: Codable, Sendable {
    package struct Detail: Codable, Sendable {
        package let code: String
        package let message: String
    }

    package let error: Detail
}

/// OpenAI's error object, as its SDKs parse it (`param` is `null` when no field is at fault).
struct OpenAIErrorBody: Codable, Sendable {
    struct Detail: Codable, Sendable {
        let message: String
        let type: String
        let param: String?
        let code: String

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message, forKey: .message)
            try container.encode(type, forKey: .type)
            try container.encode(param, forKey: .param)  // null, not absent
            try container.encode(code, forKey: .code)
        }
    }

    let error: Detail
}

/// ElevenLabs' error body (FastAPI's `detail`).
struct ElevenLabsErrorBody: Codable, Sendable {
    struct Detail: Codable, Sendable {
        let status: String
        let message: String
    }

    let detail: Detail
}
