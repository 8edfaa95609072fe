import DalstonBroker
import DalstonPropagation
import HTTPTypes
import Hummingbird
import Instrumentation
import ServiceContextModule
import Tracing

extension HTTPField.Name {
    static let traceparent = HTTPField.Name("traceparent")!
    static let tracestate = HTTPField.Name("tracestate")!
    static let traceID = HTTPField.Name("X-Trace-ID")!
}

/// The HTTP server span of each request, named by its route template
/// (`POST /v1/audio/transcriptions`), continuing the client's W3C `traceparent` when it sends a
/// valid one. The response carries the span's `traceparent` and `X-Trace-ID`, so a client can
/// quote the trace. Sits outside `RequestIDMiddleware`, so the request's log lines (and the
/// error responses it makes) are inside the span. `/health` and `/metrics` are not traced.
public struct TracingMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard MessageTracing.isEnabled, request.uri.path != "/health", request.uri.path != "/metrics" else {
            return try await next(request, context)
        }
        var parent = ServiceContext.current ?? .topLevel
        if let traceparent = request.headers[.traceparent], TraceParent.problem(traceparent) == nil {
            InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        }
        let method = request.method.rawValue
        let route = context.endpointPath
        return try await withSpan(route.map { "\(method) \($0)" } ?? method, context: parent, ofKind: .server) { span in
            span.attributes["http.request.method"] = method
            span.attributes["url.path"] = request.uri.path
            span.attributes["url.scheme"] = "http"
            if let route { span.attributes["http.route"] = route }
            if let agent = request.headers[.userAgent] { span.attributes["user_agent.original"] = agent }
            var response = try await next(request, context)
            let status = Int(response.status.code)
            span.attributes["http.response.status_code"] = status
            span.attributes["dalston.request_id"] = response.headers[.requestID]
            if status >= 500 { span.setStatus(SpanStatus(code: .error, message: "HTTP \(status)")) }
            var carrier: [String: String] = [:]
            InstrumentationSystem.instrument.inject(ServiceContext.current ?? parent, into: &carrier, using: MessageMetadataInjector())
            if let traceparent = carrier[MessageMetadataKey.traceparent] {
                response.headers[.traceparent] = traceparent
                response.headers[.traceID] = TraceParent.ids(traceparent)?.traceID
            }
            return response
        }
    }
}

/// Reads W3C trace headers from a request.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}
