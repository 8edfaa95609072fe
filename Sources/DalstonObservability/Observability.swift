package import DalstonLogging
package import DalstonMetrics
package import DalstonTracing
import Foundation
package import Logging
package import ServiceLifecycle
import Synchronization

/// The one start-up call of every Dalston executable: validates the whole observability
/// environment first (a bad value stops the process before anything starts), then bootstraps
/// logging, metrics and tracing for the process.
package struct Observability: Sendable {
    package let service: String
    package let logger: Logger
    package let metrics: MetricsRuntime
    package let metricsConfiguration: MetricsConfiguration
    package let tracingConfiguration: TracingConfiguration
    /// The span exporter, to run with the process's services (first, so that it stops last and
    /// flushes the spans of everything else); `nil` when tracing is off.
    package let tracingService: (any Service)?

    package struct ConfigurationError: Error, CustomStringConvertible {
        package let description: String
    }

    /// Harmless to call twice: logging and the global metrics backend keep their first setup.
    package static func configure(
        service: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        customizeLogging: (inout LoggingConfiguration) -> Void = { _ in }
    ) throws(ConfigurationError) -> Observability {
        let metricsConfiguration: MetricsConfiguration
        let tracingConfiguration: TracingConfiguration
        do {
            metricsConfiguration = try MetricsConfiguration.fromEnvironment(environment)
            tracingConfiguration = try TracingConfiguration.fromEnvironment(environment, service: service)
            _ = try LoggingConfiguration.fromEnvironment(service: service, environment: environment)
        } catch let error as MetricsConfiguration.Invalid {
            throw ConfigurationError(description: error.description)
        } catch let error as TracingConfiguration.Invalid {
            throw ConfigurationError(description: error.description)
        } catch {
            throw ConfigurationError(description: "\(error)")
        }
        let logger: Logger
        do {
            logger = try DalstonLogging.configure(service: service, environment: environment) { logging in
                if tracingConfiguration.enabled {
                    logging.traceIDs = DalstonTracing.logTraceIDs
                }
                customizeLogging(&logging)
            }
        } catch {
            throw ConfigurationError(description: "\(error)")
        }
        let metrics = MetricsRuntime.bootstrap(service: service, configuration: metricsConfiguration)
        metrics.exposition?.add(DroppedTelemetryCollector(
            instruments: metrics.instruments(for: service), droppedSpans: { DalstonTracing.droppedSpans },
            droppedLines: { DalstonLogging.pipeline?.writer.droppedLines ?? 0 }))
        let tracingService: (any Service)?
        do {
            tracingService = try tracingOnce.bootstrap(tracingConfiguration)
        } catch {
            throw ConfigurationError(description: "tracing could not start: \(error)")
        }
        for warning in tracingConfiguration.warnings {
            logger.warning("tracing_configuration_fallback", metadata: ["reason": "\(warning)"])
        }
        if tracingConfiguration.enabled {
            logger.info("tracing_enabled", metadata: [
                "endpoint": "\(tracingConfiguration.endpoint)", "otel_service_name": "\(tracingConfiguration.serviceName)",
                "sampler": "\(tracingConfiguration.otelEnvironment["OTEL_TRACES_SAMPLER"] ?? "parentbased_always_on")",
            ])
        }
        return Observability(
            service: service, logger: logger, metrics: metrics, metricsConfiguration: metricsConfiguration,
            tracingConfiguration: tracingConfiguration, tracingService: tracingService)
    }

    /// `InstrumentationSystem` can be bootstrapped once per process.
    private static let tracingOnce = TracingBootstrapOnce()

    /// `configure`, but a bad environment prints the reason and exits with
    /// `DalstonLogging.configurationErrorExitCode`.
    package static func configureOrExit(
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

/// Bootstraps tracing at most once per process (a second `configure` keeps the first tracer).
final class TracingBootstrapOnce: Sendable {
    private let done = Mutex(false)

    func bootstrap(_ configuration: TracingConfiguration) throws -> (any Service)? {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        return first ? try DalstonTracing.bootstrap(configuration) : nil
    }
}
