import Hummingbird

extension Gateway {
    /// Mounted at `/auth`: `GET /auth/me`, which key the caller is using and what it may do.
    func keyRoutes() -> RouteCollection<GatewayRequestContext> {
        let routes = routeCollection(.native, access: .anyKey)
        routes.get("me") { _, context in
            APIKeyIdentityResponse(caller: context.caller, securityMode: self.configuration.securityMode)
        }
        return routes
    }
}
