package import Tracing

/// The attributes every traced HTTP request sets on its server span, as typed fields.
///
/// Kept in `SpanAttributes` they cost every request a dictionary: its allocation, a hash of
/// each key as it is set, a copy of each value in and out, and a free at export. Dalston's spans
/// hold them here instead; other tracers get them as ordinary attributes (`forEach`).
package struct HTTPServerSpanAttributes: Sendable, Equatable {
    package var method: String?
    package var path: String?
    package var scheme: String?
    package var route: String?
    package var userAgent: String?
    package var statusCode: Int64?
    package var requestID: String?

    package init(
        method: String? = nil, path: String? = nil, scheme: String? = nil, route: String? = nil, userAgent: String? = nil,
        statusCode: Int64? = nil, requestID: String? = nil
    ) {
        self.method = method
        self.path = path
        self.scheme = scheme
        self.route = route
        self.userAgent = userAgent
        self.statusCode = statusCode
        self.requestID = requestID
    }

    var isEmpty: Bool { self == HTTPServerSpanAttributes() }

    /// Each attribute that is set, by its OpenTelemetry name (`dalston.request_id` for the request id).
    package func forEach(_ body: (String, SpanAttribute) -> Void) {
        if let method { body("http.request.method", .string(method)) }
        if let path { body("url.path", .string(path)) }
        if let scheme { body("url.scheme", .string(scheme)) }
        if let route { body("http.route", .string(route)) }
        if let userAgent { body("user_agent.original", .string(userAgent)) }
        if let statusCode { body("http.response.status_code", .int64(statusCode)) }
        if let requestID { body("dalston.request_id", .string(requestID)) }
    }

    /// Each one not also set by name in `attributes`: a named attribute wins.
    func forEach(notSetIn attributes: SpanAttributes, _ body: (String, SpanAttribute) -> Void) {
        guard !isEmpty else { return }
        forEach { key, value in
            if attributes.isEmpty || attributes.get(key) == nil { body(key, value) }
        }
    }
}
