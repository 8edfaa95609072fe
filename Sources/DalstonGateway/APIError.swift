import Foundation
package import HTTPTypes
package import Hummingbird

/// An error the API answers with a status and, in the request's dialect, a code and a message
/// that says what to change.
package struct APIError: Error, Sendable, HTTPResponseError {
    package let status: HTTPResponse.Status
    /// Machine-readable: `invalid_request`, `not_found`, `unsupported_audio`, ...
    package let code: String
    package let message: String
    /// Seconds after which the request may succeed (`Retry-After`), for refusals under load.
    package let retryAfter: Int?
    /// The request field at fault (OpenAI's `param`).
    let param: String?
    /// Set by handlers that answer in another API's shape; otherwise the route collection's.
    let dialect: ErrorDialect?
    /// Headers the answer carries besides the content type and `Retry-After` (rate limits).
    var extraHeaders = HTTPFields()

    package init(_ status: HTTPResponse.Status, code: String, message: String, retryAfter: Int? = nil) {
        self.init(status, code: code, message: message, retryAfter: retryAfter, param: nil, dialect: nil)
    }

    init(_ status: HTTPResponse.Status, code: String, message: String, retryAfter: Int? = nil, param: String?, dialect: ErrorDialect?) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.param = param
        self.dialect = dialect
    }

    package static func badRequest(_ message: String, param: String? = nil) -> APIError {
        APIError(.badRequest, code: "invalid_request", message: message, param: param, dialect: nil)
    }
    package static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message: message) }
    package static let unauthorized = APIError(.unauthorized, code: "unauthorized", message: "a valid API key is required: send Authorization: Bearer <key>")
    package static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "payload_too_large", message: "the upload is larger than the limit of \(limit / (1024 * 1024)) MB", param: "file", dialect: nil)
    }
    static func unsupported(_ field: String, _ message: String) -> APIError {
        APIError(.badRequest, code: "unsupported_parameter", message: message, param: field, dialect: nil)
    }

    /// The same error, answered in `dialect`.
    func answered(in dialect: ErrorDialect) -> APIError {
        var answered = APIError(status, code: code, message: message, retryAfter: retryAfter, param: param, dialect: dialect)
        answered.extraHeaders = extraHeaders
        return answered
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        response(dialect: dialect ?? .native)
    }

    func response(dialect: ErrorDialect) -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/json"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body = dialect.body(status: status, code: code, message: message, param: param)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
