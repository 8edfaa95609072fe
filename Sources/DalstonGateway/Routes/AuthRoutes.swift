import Hummingbird

extension Gateway {
    /// `GET /auth/me`: which key the caller is using and what it may do.
    func addAuthRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/auth/me") { _, context in
            APIKeyIdentityResponse(caller: context.caller, securityMode: self.configuration.securityMode)
        }
    }
}
