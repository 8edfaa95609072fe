#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
public import Musl
#elseif canImport(Darwin)
public import Darwin
#endif
public import Logging
import Synchronization

/// The one place where a Dalston process sets up its logging.
///
/// Executables reach it through `Observability.configureOrExit(service:)`, the single start-up
/// call for logs, metrics and traces; nothing else calls `LoggingSystem.bootstrap` or builds handlers.
public enum DalstonLogging {
    private static let active = Mutex<LogPipeline?>(nil)

    /// Exit status for a configuration the process cannot start with (`EX_CONFIG`).
    public static let configurationErrorExitCode: Int32 = 78

    /// Reads the logging environment, bootstraps swift-log for the whole process and returns a
    /// logger labelled `dalston.<service>`.
    ///
    /// Calling it again is harmless: the first configuration stays, and later calls only return a
    /// logger. An unusable environment value throws before anything is bootstrapped.
    @discardableResult
    public static func configure(
        service: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        customize: (inout LoggingConfiguration) -> Void = { _ in }
    ) throws(LoggingConfigurationError) -> Logger {
        let wasConfigured = try active.withLock { (current) throws(LoggingConfigurationError) -> Bool in
            guard current == nil else { return true }
            var configuration = try LoggingConfiguration.fromEnvironment(service: service, environment: environment)
            customize(&configuration)
            let pipeline = LogPipeline(configuration: configuration)
            // A closed stdout must surface as EPIPE (a dropped line), not kill the process.
            signal(SIGPIPE, SIG_IGN)
            // No provider at the swift-log level: Dalston handlers apply the pipeline's providers
            // themselves, so a provider arriving here is a logger's own (`Logger(label:metadataProvider:)`).
            LoggingSystem.bootstrap(
                { label, provider in pipeline.makeHandler(label: label, metadataProvider: provider) },
                metadataProvider: nil
            )
            current = pipeline
            return false
        }
        let logger = Logger(label: "dalston.\(service)")
        if wasConfigured {
            logger.debug("logging_already_configured", metadata: ["requested_service": "\(service)"])
        }
        return logger
    }

    /// The pipeline installed by `configure`, if any.
    public static var pipeline: LogPipeline? {
        active.withLock { $0 }
    }
}
