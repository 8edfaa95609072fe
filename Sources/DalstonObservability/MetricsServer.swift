package import DalstonMetrics
import HTTPTypes
package import Hummingbird
package import Logging
import NIOCore

/// `GET /metrics` on a port of its own, for services without an HTTP API (orchestrator,
/// engines). A lifecycle service: it stops on graceful shutdown.
package enum MetricsServer {
    /// Routes `/metrics` (and `/health`, for probes) to `exposition`.
    package static func router(_ exposition: PrometheusExposition, admin: (LogLevelAdministration, token: String?)? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        admin?.0.addRoutes(to: router, token: admin?.token)
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = PrometheusExposition.contentType
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: await exposition.render())))
        }
        router.get("/health") { _, _ in "ok" }
        return router
    }

    /// The listener on `host:port`; `onListening` gets the bound port (the picked one for 0).
    package static func application(
        _ exposition: PrometheusExposition, host: String = "127.0.0.1", port: Int, admin: (LogLevelAdministration, token: String?)? = nil,
        logger: Logger = Logger(label: "dalston.metrics"), onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(exposition, admin: admin),
            configuration: .init(address: .hostname(host, port: port), serverName: "dalston-metrics"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                logger.notice("metrics_listening", metadata: ["url": "http://\(host):\(bound)/metrics"])
                onListening(bound)
            },
            logger: logger)
    }
}
