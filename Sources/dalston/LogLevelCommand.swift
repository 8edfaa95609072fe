import ArgumentParser
import DalstonBroker
import DalstonCore
import DalstonObservability
import Foundation
import Logging

/// `dalston loglevel set|reset`: changes the log levels of running services, without a restart,
/// through a broadcast on the broker (Redis) that every matching process applies and logs.
struct LogLevelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loglevel", abstract: "Change running services' log levels (broadcast over REDIS_URL).",
        discussion: """
            dalston loglevel set debug --service orchestrator --for 10m
            dalston loglevel set debug --logger dalston.redis
            dalston loglevel reset
            Each process logs the change (log_level_changed) and, after --for, its revert. A single
            process can also be changed over HTTP: PUT /admin/log-level on the gateway or a
            service's metrics port, with Authorization: Bearer $DALSTON_ADMIN_TOKEN.
            """,
        subcommands: [Set.self, Reset.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a level, for every logger or under --logger.")

        @Argument(help: "trace, debug, info, notice, warning, error or critical.")
        var level: String

        @Option(help: "Only processes of this service or role (gateway, orchestrator, engine, an engine id, dalston for `up`).")
        var service: String?

        @Option(help: "Only loggers whose label starts with this prefix (e.g. dalston.redis).")
        var logger: String?

        @Option(name: .customLong("for"), help: "Revert after this long: 90s, 10m, 2h (default: until changed).")
        var duration: String?

        func run() async throws {
            guard Logger.Level(name: level) != nil else {
                throw ValidationError("\"\(level)\" is not a log level; use trace, debug, info, notice, warning, error or critical")
            }
            var data: [String: JSONValue] = ["action": .string("set"), "level": .string(level)]
            if let service { data["service"] = .string(service) }
            if let logger { data["logger"] = .string(logger) }
            if let duration {
                guard let seconds = LogLevelCommand.seconds(duration) else { throw ValidationError("--for takes a duration such as 90s, 10m or 2h") }
                data["duration_seconds"] = .number(seconds)
            }
            try await LogLevelCommand.broadcast(data)
            print("log level \(level) sent to \(service ?? "every service")\(logger.map { " for \($0)" } ?? "")\(duration.map { " for \($0)" } ?? "")")
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Undo every change: back to each process's LOG_LEVEL.")

        @Option(help: "Only processes of this service or role.")
        var service: String?

        func run() async throws {
            var data: [String: JSONValue] = ["action": .string("reset")]
            if let service { data["service"] = .string(service) }
            try await LogLevelCommand.broadcast(data)
            print("log levels reset on \(service ?? "every service")")
        }
    }

    static func broadcast(_ data: [String: JSONValue]) async throws {
        let environment = ProcessInfo.processInfo.environment
        guard environment["REDIS_URL"].map({ !$0.isEmpty }) == true else {
            throw ValidationError("set REDIS_URL to the services' Redis: the change is broadcast there (one process: PUT /admin/log-level)")
        }
        let broker = try BrokerFactory.make(environment: environment, logger: Logger(label: "dalston.cli", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            try await broker.publish(EventEnvelope(type: "log_level_change", data: data))
        } catch {
            await broker.shutdown()
            throw ValidationError("the change could not be sent: \(error)")
        }
        await broker.shutdown()
    }

    /// `90`, `90s`, `10m`, `2h`, `1d` in seconds.
    static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = text.last, let factor = units[unit], let value = Double(text.dropLast()), value > 0 { return value * factor }
        return Double(text).flatMap { $0 > 0 ? $0 : nil }
    }
}
