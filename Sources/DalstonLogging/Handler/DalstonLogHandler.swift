import Logging

/// The swift-log handler behind every Dalston logger.
///
/// It gathers the line's fields from three places, in increasing precedence: the task-local
/// context (through the metadata provider), the logger's own bound metadata, and the call's
/// metadata. It then hands the record to the shared `LogPipeline`.
public struct DalstonLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    public let pipeline: LogPipeline

    public init(label: String, pipeline: LogPipeline, metadataProvider: Logger.MetadataProvider?) {
        self.label = label
        self.pipeline = pipeline
        self.logLevel = pipeline.levels.level(forLabel: label)
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let provided = metadataProvider?.get() ?? [:]
        var record = LogRecord(
            timestamp: .now(),
            level: event.level,
            service: pipeline.service,
            logger: label,
            event: event.message.description,
            fields: Self.orderedFields(provided: provided, bound: metadata, call: event.metadata, error: event.error),
            location: pipeline.includeSource || event.level <= .debug
                ? LogSourceLocation(source: event.source, file: event.file, function: event.function, line: event.line)
                : nil
        )
        pipeline.emit(&record)
    }

    /// Merges the three sources (call over bound over task-local) into the stable line order:
    /// well-known context keys in `LogRecord.contextKeyOrder`, other context sorted by key, then
    /// the call's own fields sorted by key.
    static func orderedFields(
        provided: Logger.Metadata, bound: Logger.Metadata, call: Logger.Metadata?, error: (any Error)?
    ) -> [LogField] {
        let call = call ?? [:]
        var ranked: [(rank: Int, field: LogField)] = []
        ranked.reserveCapacity(provided.count + bound.count + call.count + 1)
        for (key, value) in call {
            ranked.append((rank(of: key, isCallField: true), LogField(key: key, value: value)))
        }
        if let error, call["error"] == nil {
            ranked.append((rank(of: "error", isCallField: true), LogField(key: "error", value: .error(error))))
        }
        for (key, value) in bound where call[key] == nil {
            ranked.append((rank(of: key, isCallField: false), LogField(key: key, value: value)))
        }
        for (key, value) in provided where call[key] == nil && bound[key] == nil {
            ranked.append((rank(of: key, isCallField: false), LogField(key: key, value: value)))
        }
        if ranked.count > 1 {
            ranked.sort { $0.rank != $1.rank ? $0.rank < $1.rank : $0.field.key < $1.field.key }
        }
        return ranked.map(\.field)
    }

    private static func rank(of key: String, isCallField: Bool) -> Int {
        switch key {
        case "request_id": return 0
        case "job_id": return 1
        case "task_id": return 2
        case "engine_id": return 3
        case "session_id": return 4
        case "worker_id": return 5
        case "trace_id": return 6
        case "span_id": return 7
        default: return isCallField ? 200 : 100
        }
    }
}
