import Instrumentation
public import Logging

/// The configured path from a log call to the output: processors, renderer, writer.
///
/// One pipeline serves every logger of the process; apart from its levels (changed at run time
/// through `levelController`) it is immutable, so handlers share it without locks. Only the
/// writer serialises (one line at a time).
public final class LogPipeline: Sendable {
    public let service: String
    /// The levels now: `LOG_LEVEL` at start, changed at run time through the controller.
    public let levelController: LogLevelController
    public var levels: LogLevelPolicy { levelController.policy }
    public let processors: [any LogProcessor]
    public let renderer: any LogRenderer
    public var writer: any LogLineWriter { output.writer }
    let output: LogOutput
    public let includeSource: Bool
    /// Task-local log context plus any extra providers (e.g. trace ids), for handlers other than
    /// Dalston's that want the same fields.
    public let metadataProvider: Logger.MetadataProvider
    /// The extra providers only: Dalston handlers read the task-local context directly.
    public let extraMetadataProvider: Logger.MetadataProvider?
    /// The JSON format with only the built-in processors renders without building records.
    let jsonFastPath: JSONFastPath?

    public init(configuration: LoggingConfiguration) {
        self.service = configuration.service
        self.levelController = LogLevelController(configuration.levels)
        self.processors = configuration.processorChain
        self.output = LogOutput(configuration.writer)
        self.includeSource = configuration.includeSource
        switch configuration.format {
        case .json: self.renderer = JSONLineRenderer()
        case .console: self.renderer = ConsoleLineRenderer(colors: configuration.colors)
        }
        // The trace ids, as metadata, for the general path and for other handlers.
        let traceProvider = configuration.traceIDs.map { read in
            Logger.MetadataProvider { ServiceContext.current.flatMap(read)?.metadata ?? [:] }
        }
        let extraProviders = configuration.metadataProviders + (traceProvider.map { [$0] } ?? [])
        // `multiplex` must not be given an empty list.
        self.extraMetadataProvider = extraProviders.isEmpty ? nil : Logger.MetadataProvider.multiplex(extraProviders)
        self.metadataProvider = Logger.MetadataProvider.multiplex([LogContext.metadataProvider] + extraProviders)
            ?? LogContext.metadataProvider
        self.jsonFastPath = configuration.format == .json && configuration.processors.isEmpty
            ? JSONFastPath(
                redaction: RedactionProcessor(keys: configuration.redactedKeys), truncation: TruncationProcessor(maxBytes: configuration.maxValueBytes),
                output: output,
                extraMetadataProvider: configuration.metadataProviders.isEmpty ? nil : Logger.MetadataProvider.multiplex(configuration.metadataProviders),
                traceIDs: configuration.traceIDs)
            : nil
    }

    /// A handler for `label`, at the level `LOG_LEVEL` gives that label. The task-local context is
    /// always included; `metadataProvider` adds to it (default: the configured extra providers).
    public func makeHandler(label: String, metadataProvider: Logger.MetadataProvider? = nil) -> DalstonLogHandler {
        DalstonLogHandler(label: label, pipeline: self, metadataProvider: metadataProvider)
    }

    /// A logger that writes through this pipeline without touching the global `LoggingSystem`
    /// (tests and benchmarks).
    public func makeLogger(label: String) -> Logger {
        Logger(label: label) { label in self.makeHandler(label: label) }
    }

    func emit(_ record: inout LogRecord) {
        // Borrow each processor in place: iterating the array would copy every existential.
        let kept = processors.withUnsafeBufferPointer { processors in
            for index in processors.indices where processors[index].process(&record) == .drop {
                return false
            }
            return true
        }
        guard kept else { return }
        RenderBuffer.withBuffer { line in
            renderer.render(record, into: &line)
            output.write(line, level: record.level)
        }
    }
}
