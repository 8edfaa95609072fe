import DalstonCore
import DalstonLogging
import DalstonObservability
import DalstonRuntime
import Foundation
import Logging

/// What every subcommand that runs services does first: one `Observability` set-up, then the
/// deployment from the environment. A value that cannot be used ends the process with exit 78.
struct Startup {
    let logger: Logger
    let deployment: Deployment

    static func configure(service: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Startup {
        let observability = Observability.configureOrExit(service: service, environment: environment)
        raiseOpenFileLimit(logger: observability.logger)
        do {
            return Startup(logger: observability.logger, deployment: try Deployment.fromEnvironment(environment, observability: observability))
        } catch {
            exitWithConfigurationError(error.description)
        }
    }

    /// Runs `roles` until SIGTERM/SIGINT; a configuration error ends the process with exit 78.
    func run(_ roles: [Role]) async throws {
        do {
            try await deployment.run(roles)
        } catch let error as ConfigurationError {
            exitWithConfigurationError(error.description)
        }
    }
}

func exitWithConfigurationError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("dalston: \(message)\n".utf8))
    exit(DalstonLogging.configurationErrorExitCode)
}

/// Raises the soft open-file limit to the hard one, as servers do: each client connection, Redis
/// connection and upload is a descriptor, and distributions default the soft limit to 1024.
func raiseOpenFileLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    let previous = limit.rlim_cur
    limit.rlim_cur = min(limit.rlim_max, 1 << 20)
    if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
        logger.debug("open_file_limit_raised", metadata: ["from": .stringConvertible(previous), "to": .stringConvertible(limit.rlim_cur)])
    }
}
