import DalstonCore
package import DalstonMetrics
import Hummingbird
package import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `/metrics` port of a process without the gateway, as a lifecycle service.
///
/// With a port chosen by the operator (`METRICS_PORT`), a port in use is a configuration error
/// that stops start-up and says so. Without one, several engines on one host must all start: the
/// listener takes the first free port from the role's default up, logs it (`metrics_listening`)
/// and records it in the exposition, from where the worker heartbeat advertises it.
package struct MetricsListener: Service {
    package enum Port: Sendable, Equatable {
        /// Exactly this port (`METRICS_PORT`); 0 lets the system pick.
        case exactly(Int)
        /// The first free port of `from ..< from + count`.
        case firstFree(from: Int, count: Int)
    }

    let exposition: PrometheusExposition
    let host: String
    let port: Port
    /// The log-level endpoint served beside `/metrics`, with its token.
    let admin: (LogLevelAdministration, token: String?)?
    let logger: Logger

    package init(
        _ exposition: PrometheusExposition, host: String, port: Port, admin: (LogLevelAdministration, token: String?)? = nil,
        logger: Logger = Logger(label: "dalston.metrics")
    ) {
        self.exposition = exposition
        self.host = host
        self.port = port
        self.admin = admin
        self.logger = logger
    }

    package func run() async throws {
        let candidates: [Int] = switch port {
        case .exactly(let port): [port]
        case .firstFree(let from, let count): Array(from..<(from + count))
        }
        for candidate in candidates {
            let started = StartedFlag()
            let application = MetricsServer.application(exposition, host: host, port: candidate, admin: admin, logger: logger) { bound in
                started.set()
                exposition.endpoint = "\(host):\(bound)"
                if bound != candidates[0], case .firstFree = port {
                    logger.notice("metrics_port_taken", metadata: ["default_port": .stringConvertible(candidates[0]), "port": .stringConvertible(bound)])
                }
            }
            do {
                try await application.run()
                return
            } catch let error as IOError where error.errnoCode == EADDRINUSE && !started.isSet {
                if case .exactly(let port) = port {
                    throw ConfigurationError(description: "METRICS_PORT=\(port) is already in use on \(host): choose a free port, or unset METRICS_PORT to take the next free one")
                }
                continue
            }
        }
        throw ConfigurationError(description: "no free metrics port on \(host) from \(candidates.first ?? 0) to \(candidates.last ?? 0): set METRICS_PORT")
    }
}

/// Whether the listener got as far as listening (a later failure is not a port clash).
private final class StartedFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
