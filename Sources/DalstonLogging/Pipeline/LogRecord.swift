public import Logging

/// One log event on its way through the processor pipeline to a renderer.
///
/// The handler fills it in; processors may change anything, and the renderer writes it as is.
/// `fields` are ordered: well-known context keys first (see `LogRecord.contextKeyOrder`), then
/// other bound context sorted by key, then the call's own fields sorted by key.
public struct LogRecord: Sendable {
    public var timestamp: LogTimestamp
    public var level: Logger.Level
    public var service: String
    /// The swift-log label of the logger that wrote the event.
    public var logger: String
    /// The message.
    public var event: String
    public var fields: [LogField]
    /// Where the call was made; `nil` when the location is not rendered.
    public var location: LogSourceLocation?

    public init(
        timestamp: LogTimestamp, level: Logger.Level, service: String, logger: String, event: String,
        fields: [LogField] = [], location: LogSourceLocation? = nil
    ) {
        self.timestamp = timestamp
        self.level = level
        self.service = service
        self.logger = logger
        self.event = event
        self.fields = fields
        self.location = location
    }

    /// Context keys operators query on, in the order they appear on every line.
    public static let contextKeyOrder: [String] = [
        "request_id", "job_id", "task_id", "engine_id", "session_id", "worker_id", "trace_id", "span_id",
    ]

    /// Reads a field, or replaces it in place, appends it, or removes it (`nil`).
    public subscript(field key: String) -> Logger.MetadataValue? {
        get { fields.first { $0.key == key }?.value }
        set {
            let index = fields.firstIndex { $0.key == key }
            switch (index, newValue) {
            case let (index?, value?): fields[index].value = value
            case let (index?, nil): fields.remove(at: index)
            case let (nil, value?): fields.append(LogField(key: key, value: value))
            case (nil, nil): break
            }
        }
    }
}

/// One key/value pair of a record.
public struct LogField: Sendable {
    public var key: String
    public var value: Logger.MetadataValue
    /// Position class used by the handler to order fields (well-known keys, context, call).
    var order: UInt8

    public init(key: String, value: Logger.MetadataValue) {
        self.init(key: key, value: value, order: .max)
    }

    init(key: String, value: Logger.MetadataValue, order: UInt8) {
        self.key = key
        self.value = value
        self.order = order
    }
}

/// Where a log call was made.
public struct LogSourceLocation: Sendable, Equatable {
    /// The module, as swift-log reports it.
    public var source: String
    public var file: String
    public var function: String
    public var line: UInt

    public init(source: String, file: String, function: String, line: UInt) {
        self.source = source
        self.file = file
        self.function = function
        self.line = line
    }
}
