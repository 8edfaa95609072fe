import DalstonBroker
import DalstonPipeline
import DalstonRecords
import HTTPTypes
import Hummingbird
import Logging

/// Answers every error of the routes behind it in one API's error shape: each dialect's route
/// collection has one (so its authentication errors take its shape too), and the router one
/// for the native shape (unmatched paths). A handler answering in another dialect says so with
/// `DialectError`. What a broken dependency means for the client is decided here: 503 with
/// `Retry-After` for a broker or database that is down, 507 for a full disk, logged with the
/// request's id.
struct ErrorShapeMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let dialect: ErrorDialect
    let logger: Logger

    init(_ dialect: ErrorDialect, logger: Logger = Logger(label: "dalston.gateway.http")) {
        self.dialect = dialect
        self.logger = logger
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let route = context.endpointPath ?? request.uri.path
            var dialect = dialect
            var underlying = error
            if let wrapped = error as? DialectError {
                dialect = wrapped.dialect
                underlying = wrapped.underlying
            }
            let apiError = answer(underlying, route: route, requestID: context.requestID)
            return apiError.response(dialect: apiError.dialect ?? dialect)
        }
    }

    private func answer(_ error: any Error, route: String, requestID: String) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            let code = error.status == .contentTooLarge ? "payload_too_large" : (error.status.code < 500 ? "invalid_request" : "internal_error")
            return APIError(error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        case let error as BrokerError:
            logger.error("request_failed", error: error, metadata: ["route": "\(route)"])
            return APIError(
                .serviceUnavailable, code: "service_unavailable",
                message: "the job queue cannot be reached right now; retry in a few seconds (request_id \(requestID))", retryAfter: 5)
        case let error as RecordStoreError:
            logger.error("request_failed", error: error, metadata: ["route": "\(route)"])
            if case .conflict = error {
                return APIError(.conflict, code: "conflict", message: "the request conflicts with a stored record; retry it (request_id \(requestID))")
            }
            return APIError(
                .serviceUnavailable, code: "database_unavailable",
                message: "the record database cannot be reached right now; retry in a few seconds (request_id \(requestID))", retryAfter: 5)
        case let error as ArtifactError:
            logger.error("request_failed", error: error, metadata: ["route": "\(route)"])
            if error.isOutOfSpace {
                return APIError(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), code: "insufficient_storage",
                                message: "the server has no space left for the upload; retry later or send a smaller file")
            }
            if error.isUnavailable {
                return APIError(
                    .serviceUnavailable, code: "storage_unavailable",
                    message: "the artifact store cannot be reached right now; retry in a few seconds (request_id \(requestID))", retryAfter: 10)
            }
            return APIError(.serviceUnavailable, code: "storage_unavailable", message: "the server cannot store the upload right now; retry later (request_id \(requestID))", retryAfter: 30)
        default:
            logger.error("request_failed", error: error, metadata: ["route": "\(route)"])
            return APIError(.internalServerError, code: "internal_error", message: "the server failed to handle the request; see the gateway log for request_id \(requestID)")
        }
    }
}
