import HTTPTypes
package import Hummingbird

extension HTTPField.Name {
    static let origin = HTTPField.Name("Origin")!
    static let accessControlRequestMethod = HTTPField.Name("Access-Control-Request-Method")!
    static let accessControlRequestHeaders = HTTPField.Name("Access-Control-Request-Headers")!
    static let accessControlAllowOrigin = HTTPField.Name("Access-Control-Allow-Origin")!
    static let accessControlAllowMethods = HTTPField.Name("Access-Control-Allow-Methods")!
    static let accessControlAllowHeaders = HTTPField.Name("Access-Control-Allow-Headers")!
    static let accessControlExposeHeaders = HTTPField.Name("Access-Control-Expose-Headers")!
    static let accessControlMaxAge = HTTPField.Name("Access-Control-Max-Age")!
}

/// Cross-origin requests from browsers, for the origins `DALSTON_CORS_ORIGINS` lists (`*`: any);
/// with none listed (the default) browsers' cross-origin calls stay refused, as they are without
/// CORS. A preflight (`OPTIONS` with `Access-Control-Request-Method`) from a listed origin is
/// answered here, before authentication (browsers send it without credentials); other requests
/// get the headers on their answer, errors included.
package struct CORSMiddleware: RouterMiddleware {
    package typealias Context = GatewayRequestContext

    let origins: Set<String>
    let anyOrigin: Bool

    static let methods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    static let headers = "Authorization, Content-Type, X-Request-ID, xi-api-key, OpenAI-Beta, traceparent, tracestate"
    /// What a page's script may read of an answer (besides the CORS-safelisted headers).
    static let exposed = "X-Request-ID, X-Trace-ID, traceparent, Retry-After, Location, Content-Disposition"
    /// How long a browser may reuse a preflight's answer.
    static let maxAgeSeconds = 600

    package init(origins: [String]) {
        self.anyOrigin = origins.contains("*")
        self.origins = Set(origins.filter { $0 != "*" })
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], anyOrigin || origins.contains(origin) else {
            return try await next(request, context)
        }
        let allowOrigin = anyOrigin ? "*" : origin
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers: HTTPFields = [
                .accessControlAllowOrigin: allowOrigin, .accessControlAllowMethods: Self.methods,
                .accessControlAllowHeaders: Self.headers, .accessControlMaxAge: String(Self.maxAgeSeconds),
            ]
            if !anyOrigin { headers[.vary] = "Origin" }
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = allowOrigin
        response.headers[.accessControlExposeHeaders] = Self.exposed
        if !anyOrigin { response.headers[.vary] = "Origin" }
        return response
    }
}
