import DalstonBroker
import DalstonPropagation
import DalstonTracing
import HTTPTypes
package import Hummingbird
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
package struct TracingMiddleware: RouterMiddleware {
    package typealias Context = GatewayRequestContext

    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path != "/health", path != "/metrics" else { return try await next(request, context) }
        // Dalston's own tracer by its type: this generic function is then specialised for it.
        if let tracer = DalstonTracing.tracer {
            return try await serve(request, context: context, next: next, path: path, tracer: tracer)
        }
        guard let tracer = MessageTracing.tracer else { return try await next(request, context) }
        return try await serve(request, context: context, next: next, path: path, tracer: tracer)
    }

    /// What swift-distributed-tracing's `withSpan` does (start, bind as current, record a thrown
    /// error, end), written out here because `withSpan` is not inlinable: called with a concrete
    /// tracer it still ran unspecialised, looking up generic metadata on every request.
    private func serve<T: Tracer>(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response, path: String, tracer: T
    ) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        if let traceparent = request.headers[.traceparent], TraceParent.problem(traceparent) == nil {
            tracer.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        }
        let method = request.method.rawValue
        let route = context.endpointPath
        let span = tracer.startSpan(
            route.map { "\(method) \($0)" } ?? method, context: parent, ofKind: .server, at: DefaultTracerClock.now,
            function: #function, file: #fileID, line: #line)
        defer { span.end() }
        var server = HTTPServerSpanAttributes(
            method: method, path: path, scheme: "http", route: route, userAgent: request.headers.firstValue(.userAgent))
        record(server, on: span)
        var response: Response
        do {
            response = try await ServiceContext.$current.withValue(span.context) { try await next(request, context) }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
        let status = Int(response.status.code)
        server.statusCode = Int64(status)
        server.requestID = response.headers.firstValue(.requestID)
        record(server, on: span)
        if status >= 500 { span.setStatus(SpanStatus(code: .error, message: "HTTP \(status)")) }
        var traceparent: String?
        tracer.inject(span.context, into: &traceparent, using: TraceParentCapture())
        if let traceparent {
            response.headers[.traceparent] = traceparent
            response.headers[.traceID] = TraceParent.ids(traceparent)?.traceID
        }
        return response
    }
}

extension HTTPFields {
    /// The first value of a field: what a single-valued header holds. (The subscript joins every
    /// value of the name into a new string, even when there is one.)
    func firstValue(_ name: HTTPField.Name) -> String? {
        first { $0.name == name }?.value
    }
}

/// Dalston's span keeps the request's attributes as typed fields (the cast is resolved when the
/// caller is specialised for it); any other span gets them as named attributes, changed in place
/// through its `modify` (swift-distributed-tracing's `updateAttributes` copies them out and back).
private func record(_ server: HTTPServerSpanAttributes, on span: some Span) {
    if let span = span as? DalstonSpan {
        span.serverAttributes = server
    } else {
        func setEach(_ attributes: inout SpanAttributes) {
            server.forEach { key, value in attributes.set(key, value: value) }
        }
        setEach(&span.attributes)
    }
}

/// Keeps the `traceparent` an instrument injects: all a response carries of its span.
struct TraceParentCapture: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout String?) {
        if key == MessageMetadataKey.traceparent { carrier = value }
    }
}

/// Reads W3C trace headers from a request.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}
