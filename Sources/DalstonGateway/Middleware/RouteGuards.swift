import Hummingbird

/// Makes each dialect's route collection with the middlewares every collection has: errors in
/// the dialect's shape, callers checked for the access the routes need, then held to their
/// key's request rate.
struct RouteGuards: Sendable {
    let keys: APIKeyCheck
    let rateLimit: RateLimitMiddleware

    func collection(_ dialect: ErrorDialect, access: RouteAccess) -> RouteCollection<GatewayRequestContext> {
        RouteCollection(context: GatewayRequestContext.self)
            .add(middleware: ErrorShapeMiddleware(dialect))
            .add(middleware: AuthenticationMiddleware(access, keys: keys))
            .add(middleware: rateLimit)
    }
}
