import Logging

/// The configured path from a log call to the output: processors, renderer, writer.
///
/// One pipeline serves every logger of the process; it is immutable, so handlers share it
/// without locks. Only the writer serialises (one line at a time).
public final class LogPipeline: Sendable {
    public let service: String
    public let levels: LogLevelPolicy
    public let processors: [any LogProcessor]
    public let renderer: any LogRenderer
    public let writer: any LogLineWriter
    public let includeSource: Bool
    /// Task-local log context plus any extra providers (e.g. trace ids), for every logger.
    public let metadataProvider: Logger.MetadataProvider

    public init(configuration: LoggingConfiguration) {
        self.service = configuration.service
        self.levels = configuration.levels
        self.processors = configuration.processorChain
        self.writer = configuration.writer
        self.includeSource = configuration.includeSource
        switch configuration.format {
        case .json: self.renderer = JSONLineRenderer()
        case .console: self.renderer = ConsoleLineRenderer(colors: configuration.colors)
        }
        let providers = [LogContext.metadataProvider] + configuration.metadataProviders
        self.metadataProvider = providers.count == 1 ? providers[0] : (Logger.MetadataProvider.multiplex(providers) ?? LogContext.metadataProvider)
    }

    /// A handler for `label`, at the level `LOG_LEVEL` gives that label.
    public func makeHandler(label: String, metadataProvider: Logger.MetadataProvider? = nil) -> DalstonLogHandler {
        DalstonLogHandler(label: label, pipeline: self, metadataProvider: metadataProvider ?? self.metadataProvider)
    }

    /// A logger that writes through this pipeline without touching the global `LoggingSystem`
    /// (tests and benchmarks).
    public func makeLogger(label: String) -> Logger {
        Logger(label: label) { label in self.makeHandler(label: label) }
    }

    func emit(_ record: inout LogRecord) {
        for processor in processors where processor.process(&record) == .drop {
            return
        }
        RenderBuffer.withBuffer { line in
            renderer.render(record, into: &line)
            line.withUnsafeBytes { writer.write(line: $0) }
        }
    }
}
