import DalstonLogging
import DalstonMetrics
import Foundation
import Logging

/// The one start-up call of every Dalston executable: validates the whole observability
/// environment first (a bad value stops the process before anything starts), then bootstraps
/// logging and metrics for the process.
public struct Observability: Sendable {
    public let service: String
    public let logger: Logger
    public let metrics: MetricsRuntime
    public let metricsConfiguration: MetricsConfiguration

    public struct ConfigurationError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Harmless to call twice: logging and the global metrics backend keep their first setup.
    public static func configure(
        service: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        customizeLogging: (inout LoggingConfiguration) -> Void = { _ in }
    ) throws(ConfigurationError) -> Observability {
        let metricsConfiguration: MetricsConfiguration
        do {
            metricsConfiguration = try MetricsConfiguration.fromEnvironment(environment)
            _ = try LoggingConfiguration.fromEnvironment(service: service, environment: environment)
        } catch let error as MetricsConfiguration.Invalid {
            throw ConfigurationError(description: error.description)
        } catch {
            throw ConfigurationError(description: "\(error)")
        }
        let logger: Logger
        do {
            logger = try DalstonLogging.configure(service: service, environment: environment, customize: customizeLogging)
        } catch {
            throw ConfigurationError(description: "\(error)")
        }
        let metrics = MetricsRuntime.bootstrap(service: service, configuration: metricsConfiguration)
        return Observability(service: service, logger: logger, metrics: metrics, metricsConfiguration: metricsConfiguration)
    }

    /// `configure`, but a bad environment prints the reason and exits with
    /// `DalstonLogging.configurationErrorExitCode`.
    public static func configureOrExit(
        service: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        customizeLogging: (inout LoggingConfiguration) -> Void = { _ in }
    ) -> Observability {
        do {
            return try configure(service: service, environment: environment, customizeLogging: customizeLogging)
        } catch {
            FileHandle.standardError.write(Data("dalston \(service): \(error.description)\n".utf8))
            exit(DalstonLogging.configurationErrorExitCode)
        }
    }
}
