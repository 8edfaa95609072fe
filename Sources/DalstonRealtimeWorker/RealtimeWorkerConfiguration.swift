package import DalstonCore
import Foundation

/// How a realtime worker runs, from the environment.
package struct RealtimeWorkerConfiguration: Sendable, Equatable {
    /// `DALSTON_WORKER_ID`, else `realtime-{host}-{random}`.
    package var workerID: String
    /// Where its WebSocket server listens (`DALSTON_HOST`, default loopback).
    package var host = "127.0.0.1"
    /// `DALSTON_REALTIME_PORT`; unset or 0 takes a free port. Gateways learn the endpoint from
    /// the router, so only firewalls and containers need a fixed one.
    package var port = 0
    /// `DALSTON_REALTIME_ENDPOINT`: what gateways connect to, when not `ws://host:port`
    /// (behind NAT or in containers).
    package var advertisedEndpoint: String?
    /// `DALSTON_REALTIME_MAX_SESSIONS`: sessions at once, one recogniser each (default 2).
    package var capacity = 2
    /// How often the worker tells the router it is alive.
    package var heartbeatInterval: Duration = .seconds(2)
    /// Largest WebSocket message taken from the gateway.
    package var maximumFrameBytes = 1 << 20
    /// `DALSTON_REALTIME_MAX_LAG`: how far (seconds) a session's decoding may fall behind its
    /// audio before the client is told (a recoverable `falling_behind` error) and it is counted.
    package var maximumLag: Duration = .seconds(3)

    package init(workerID: String = RealtimeWorkerConfiguration.defaultWorkerID()) {
        self.workerID = workerID
    }

    package static func defaultWorkerID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "realtime-\(host)-" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(6))
    }

    package static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> RealtimeWorkerConfiguration {
        var configuration = RealtimeWorkerConfiguration(workerID: environment["DALSTON_WORKER_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultWorkerID())
        if let host = environment["DALSTON_HOST"], !host.isEmpty { configuration.host = host }
        configuration.port = try EnvironmentValue("DALSTON_REALTIME_PORT", in: environment).integer(in: 0...65535, default: 0)
        configuration.capacity = try EnvironmentValue("DALSTON_REALTIME_MAX_SESSIONS", in: environment).integer(in: 1...256, default: 2)
        configuration.maximumLag = try EnvironmentValue("DALSTON_REALTIME_MAX_LAG", in: environment).seconds(in: 0.1...3600, default: configuration.maximumLag)
        if let endpoint = environment["DALSTON_REALTIME_ENDPOINT"], !endpoint.isEmpty {
            guard endpoint.hasPrefix("ws://") || endpoint.hasPrefix("wss://") else {
                throw ConfigurationError(description: "DALSTON_REALTIME_ENDPOINT=\(endpoint) must start with ws:// or wss://")
            }
            configuration.advertisedEndpoint = endpoint
        }
        return configuration
    }
}
