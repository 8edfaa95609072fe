import Foundation
import HTTPTypes
import Hummingbird

/// An error the API reports as `{"error": {"type": ..., "message": ...}}` with an HTTP status.
public struct APIError: Error, Sendable, HTTPResponseError {
    public let status: HTTPResponse.Status
    public let type: String
    public let message: String
    /// Seconds after which the request may succeed (`Retry-After`), for refusals under load.
    public let retryAfter: Int?

    public init(_ status: HTTPResponse.Status, type: String, message: String, retryAfter: Int? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.retryAfter = retryAfter
    }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, type: "invalid_request", message: message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, type: "not_found", message: message) }
    public static let unauthorized = APIError(.unauthorized, type: "unauthorized", message: "a valid API key is required: send Authorization: Bearer <key>")
    public static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, type: "payload_too_large", message: "the upload is larger than the limit of \(limit / (1024 * 1024)) MB")
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body = Self.body(type: type, message: message)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func body(type: String, message: String) -> [UInt8] {
        let object: [String: Any] = ["error": ["type": type, "message": message]]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }
}
