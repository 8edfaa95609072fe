import DalstonBroker
import DalstonMetrics
import HTTPTypes
import Hummingbird
import Logging

/// Holds each API key to its requests per minute, counted on the broker so that all gateways
/// share one count per key (in-process for `dalston up`). Over the limit: 429 with `Retry-After`.
/// Every answer under a limit carries OpenAI's `x-ratelimit-*` headers, which OpenAI's SDKs and
/// dashboards read. When the counter cannot be reached the request goes through (logged and
/// counted): a limiter that is down must not take the API down with it.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let limits: RequestLimits
    let counter: any RateCounter
    let metrics: Instruments
    let logger: Logger

    static let window: Duration = .seconds(60)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let caller = context.caller, let limit = limits.requestsPerMinute(for: caller) else { return try await next(request, context) }
        let hit: WindowCount
        do {
            hit = try await counter.hit("requests:\(caller.keyID)", window: Self.window)
        } catch {
            logger.warning("rate_limit_unavailable", metadata: ["error": "\(error)", "key_id": "\(caller.keyID)"])
            metrics.increment(DalstonMetric.gatewayRateLimited, [("reason", "counter_unavailable")])
            return try await next(request, context)
        }
        let headers = Self.headers(limit: limit, remaining: max(0, limit - hit.count), resetsIn: hit.resetsIn)
        guard hit.count <= limit else {
            let retryAfter = max(1, Int(hit.resetsIn.seconds.rounded(.up)))
            logger.warning("rate_limited", metadata: ["key_id": "\(caller.keyID)", "limit": .stringConvertible(limit), "retry_after_seconds": .stringConvertible(retryAfter)])
            metrics.increment(DalstonMetric.gatewayRateLimited, [("reason", "requests")])
            var error = APIError(
                .tooManyRequests, code: "rate_limit_exceeded",
                message: "this API key may make \(limit) requests per minute; retry in \(retryAfter) s", retryAfter: retryAfter)
            error.extraHeaders = headers
            throw error
        }
        do {
            var response = try await next(request, context)
            for field in headers { response.headers[field.name] = field.value }
            return response
        } catch var error as APIError {
            for field in headers { error.extraHeaders[field.name] = field.value }
            throw error
        }
    }

    /// OpenAI's names: limit, remaining, and time to reset as a duration (`12s`, `850ms`).
    static func headers(limit: Int, remaining: Int, resetsIn: Duration) -> HTTPFields {
        var headers = HTTPFields()
        headers[.rateLimitLimitRequests] = String(limit)
        headers[.rateLimitRemainingRequests] = String(remaining)
        let seconds = resetsIn.seconds
        headers[.rateLimitResetRequests] = seconds >= 1 ? "\(Int(seconds.rounded(.up)))s" : "\(max(0, Int((seconds * 1000).rounded(.up))))ms"
        return headers
    }
}

extension HTTPField.Name {
    static let rateLimitLimitRequests = HTTPField.Name("x-ratelimit-limit-requests")!
    static let rateLimitRemainingRequests = HTTPField.Name("x-ratelimit-remaining-requests")!
    static let rateLimitResetRequests = HTTPField.Name("x-ratelimit-reset-requests")!
}
