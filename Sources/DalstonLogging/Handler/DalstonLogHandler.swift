import Logging

/// The swift-log handler behind every Dalston logger.
///
/// It gathers the line's fields from four places, in increasing precedence: the task-local
/// context (`withLogContext`), extra metadata providers (e.g. trace ids), the logger's own bound
/// metadata, and the call's metadata. It then hands the record to the shared `LogPipeline`.
public struct DalstonLogHandler: LogHandler {
    /// The level from the pipeline's controller (so a change at run time reaches this logger),
    /// unless code set one on this logger.
    public var logLevel: Logger.Level {
        get { explicitLevel ?? cachedLevel.level(label: label, controller: pipeline.levelController) }
        set { explicitLevel = newValue }
    }
    private var explicitLevel: Logger.Level?
    private let cachedLevel = CachedLevel()
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    public let pipeline: LogPipeline

    public init(label: String, pipeline: LogPipeline, metadataProvider: Logger.MetadataProvider?) {
        self.label = label
        self.pipeline = pipeline
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var record = LogRecord(
            timestamp: .now(),
            level: event.level,
            service: pipeline.service,
            logger: label,
            event: event.message.description,
            fields: Self.mergedFields(
                context: LogContext.currentFields, provided: metadataProvider?.get() ?? [:], bound: metadata,
                call: event.metadata ?? [:], error: event.error),
            location: pipeline.includeSource || event.level <= .debug
                ? LogSourceLocation(source: event.source, file: event.file, function: event.function, line: event.line)
                : nil
        )
        pipeline.emit(&record)
    }

    /// Merges the sources, highest precedence first (call, then the logger's bound metadata, then
    /// extra providers, then the task-local context), dropping keys already taken, into line order.
    ///
    /// Duplicates are found by scanning the few keys already collected instead of hashing: a
    /// line has a handful of fields, and this runs on every enabled log call.
    static func mergedFields(
        context: [LogField], provided: Logger.Metadata, bound: Logger.Metadata, call: Logger.Metadata, error: (any Error)?
    ) -> [LogField] {
        var fields: [LogField] = []
        fields.reserveCapacity(call.count + 1 + bound.count + provided.count + context.count)
        for (key, value) in call {
            fields.append(LogField(key: key, value: value, order: LogField.order(of: key, isCallField: true)))
        }
        if let error, !LogField.contains("error", in: fields) {
            fields.append(LogField(key: "error", value: .error(error), order: LogField.callFieldOrder))
        }
        for (key, value) in bound where !LogField.contains(key, in: fields) {
            fields.append(LogField(key: key, value: value, order: LogField.order(of: key, isCallField: false)))
        }
        for (key, value) in provided where !LogField.contains(key, in: fields) {
            fields.append(LogField(key: key, value: value, order: LogField.order(of: key, isCallField: false)))
        }
        if fields.isEmpty {
            return context  // the common case inside a bound scope: already ordered, nothing to merge
        }
        for field in context where !LogField.contains(field.key, in: fields) {
            fields.append(field)
        }
        LogField.sortInLineOrder(&fields)
        return fields
    }
}
