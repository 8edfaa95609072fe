import Logging
import ServiceLifecycle

/// The router's health loop, in every gateway: releases reservations of dead gateways, marks
/// silent workers offline, and samples the router's gauges.
public struct SessionRouterHealthService: Service {
    let router: SessionRouter

    public init(router: SessionRouter) {
        self.router = router
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await router.reconcile()
            } catch {
                router.logger.warning("session_router_reconcile_failed", metadata: ["error": "\(error.description)"])
            }
            try? await gracefulShutdownAware(sleep: .seconds(router.options.reconcileInterval))
        }
    }
}

/// Sleeps, waking early at graceful shutdown.
func gracefulShutdownAware(sleep duration: Duration) async throws {
    try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}
