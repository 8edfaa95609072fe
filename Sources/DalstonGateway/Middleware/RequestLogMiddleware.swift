import DalstonMetrics
import Hummingbird
import Logging

/// One `http_request` line per request (method, route template, status, duration) and the
/// request counter and histogram, by route template.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let metrics: Instruments
    let logger: Logger

    init(metrics: Instruments, logger: Logger = Logger(label: "dalston.gateway.http")) {
        self.metrics = metrics
        self.logger = logger
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        logger.info("http_request", metadata: [
            "method": "\(request.method.rawValue)", "route": "\(context.endpointPath ?? request.uri.path)",
            "status_code": .stringConvertible(Int(response.status.code)), "duration_seconds": .stringConvertible(elapsed.seconds),
        ])
        // Route templates only: an unmatched path (the router's "NotFound") must not become a label.
        let endpoint = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        let method = request.method.rawValue
        metrics.increment(DalstonMetric.gatewayRequests, [("method", method), ("endpoint", endpoint), ("status_code", String(response.status.code))])
        metrics.record(DalstonMetric.gatewayRequestDuration, [("method", method), ("endpoint", endpoint)], duration: elapsed)
        return response
    }
}
