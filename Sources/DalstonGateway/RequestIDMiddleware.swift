import DalstonPipeline
import DalstonBroker
import DalstonCore
import DalstonLogging
import DalstonMetrics
import Foundation
import HTTPTypes
import DalstonRecords
import Hummingbird
import Logging

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
    static let elevenLabsAPIKey = HTTPField.Name("xi-api-key")!
}

/// Correlation ids, the ADR's central rule: take the client's `X-Request-ID` when it is a sane
/// token (at most 128 of `[A-Za-z0-9._:-]`), otherwise make one (`req_` + UUID hex); echo it on
/// the response; bind it for every log line written while the request is handled (in any logger,
/// and in the job metadata the handlers create). Also turns errors into JSON error bodies, so the
/// header is on error responses too, and logs each request's outcome.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext
    let logger: Logger
    let metrics: Instruments

    public init(metrics: Instruments = .disabled, logger: Logger = Logger(label: "dalston.gateway.http")) {
        self.metrics = metrics
        self.logger = logger
    }

    public static func accept(_ candidate: String?) -> String? {
        guard let candidate, (1...128).contains(candidate.utf8.count) else { return nil }
        let allowed = candidate.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
        }
        return allowed ? candidate : nil
    }

    public static func generate() -> String {
        "req_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let supplied = request.headers[.requestID]
        let requestID = Self.accept(supplied) ?? Self.generate()
        var context = context
        context.requestID = requestID
        let started = ContinuousClock.now
        let route = context.endpointPath ?? request.uri.path
        return await withLogContext(["request_id": "\(requestID)"]) {
            if let supplied, supplied != requestID {
                logger.warning("request_id_rejected", metadata: ["reason": "not a token of at most 128 [A-Za-z0-9._:-] characters", "length": .stringConvertible(supplied.utf8.count)])
            }
            var response: Response
            do {
                response = try await next(request, context)
            } catch {
                response = answer(error, path: request.uri.path, route: route, requestID: requestID)
            }
            response.headers[.requestID] = requestID
            let elapsed = ContinuousClock.now - started
            let seconds = elapsed.seconds
            logger.info("http_request", metadata: [
                "method": "\(request.method.rawValue)", "route": "\(context.endpointPath ?? route)",
                "status_code": .stringConvertible(Int(response.status.code)),
                "duration_seconds": .stringConvertible(seconds),
            ])
            // Route templates only: an unmatched path (the router's "NotFound") must not become a label.
            let endpoint = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
            let method = request.method.rawValue
            metrics.increment(DalstonMetric.gatewayRequests, [("method", method), ("endpoint", endpoint), ("status_code", String(response.status.code))])
            metrics.record(DalstonMetric.gatewayRequestDuration, [("method", method), ("endpoint", endpoint)], duration: elapsed)
            return response
        }
    }

    /// The answer to a failed request, in the dialect of the API it was made to: the handler's
    /// own error, or what a broken dependency means for the client (503 with `Retry-After` for
    /// a broker that is down, 507 for a full disk), logged here with the request's id.
    private func answer(_ error: any Error, path: String, route: String, requestID: String) -> Response {
        var dialect = ErrorDialect(path: path)
        var error = error
        if let wrapped = error as? DialectError {
            dialect = wrapped.dialect
            error = wrapped.underlying
        }
        let apiError: APIError
        switch error {
        case let error as APIError:
            apiError = error
        case let error as HTTPError:
            let code = error.status == .contentTooLarge ? "payload_too_large" : (error.status.code < 500 ? "invalid_request" : "internal_error")
            apiError = APIError(error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        case let error as BrokerError:
            logger.error("request_failed", error: error, metadata: ["route": "\(route)"])
            apiError = APIError(
                .serviceUnavailable, code: "service_unavailable",
                message: "the job queue cannot be reached right now; retry in a few seconds (request_id \(requestID))", retryAfter: 5)
        case let error as RecordStoreError:
            logger.error("request_failed", error: error, metadata: ["route": "\(route)"])
            if case .conflict = error {
                apiError = APIError(.conflict, code: "conflict", message: "the request conflicts with a stored record; retry it (request_id \(requestID))")
            } else {
                apiError = APIError(
                    .serviceUnavailable, code: "database_unavailable",
                    message: "the record database cannot be reached right now; retry in a few seconds (request_id \(requestID))", retryAfter: 5)
            }
        case let error as ArtifactError:
            logger.error("request_failed", error: error, metadata: ["route": "\(route)"])
            apiError = error.isOutOfSpace
                ? APIError(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), code: "insufficient_storage",
                           message: "the server has no space left for the upload; retry later or send a smaller file")
                : APIError(.serviceUnavailable, code: "storage_unavailable", message: "the server cannot store the upload right now; retry later (request_id \(requestID))", retryAfter: 30)
        default:
            logger.error("request_failed", error: error, metadata: ["route": "\(route)"])
            apiError = APIError(.internalServerError, code: "internal_error", message: "the server failed to handle the request; see the gateway log for request_id \(requestID)")
        }
        return apiError.response(dialect: apiError.dialect ?? dialect)
    }
}
