import Hummingbird

/// The caller's own key.
struct KeysAPI: Sendable {
    let configuration: GatewayConfiguration
    let guards: RouteGuards

    /// Mounted at `/auth`: `GET /auth/me`, which key the caller is using and what it may do.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .anyKey)
        routes.get("me") { _, context in
            APIKeyIdentityResponse(caller: context.caller, securityMode: self.configuration.securityMode)
        }
        return routes
    }
}
