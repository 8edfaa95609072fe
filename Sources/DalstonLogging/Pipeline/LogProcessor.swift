public import Logging

/// One step of the pipeline every log record passes through before it is rendered, like a
/// structlog processor: add, rename or remove fields, redact, sample, or drop the record.
///
/// Processors run on the logging thread for every enabled call, so keep them cheap.
public protocol LogProcessor: Sendable {
    /// Changes `record` in place; `.drop` stops the record (nothing is written).
    func process(_ record: inout LogRecord) -> LogProcessorDecision
}

public enum LogProcessorDecision: Sendable {
    case keep
    case drop
}

/// A processor from a closure, for one-off steps.
public struct ClosureProcessor: LogProcessor {
    private let body: @Sendable (inout LogRecord) -> LogProcessorDecision

    public init(_ body: @escaping @Sendable (inout LogRecord) -> LogProcessorDecision) {
        self.body = body
    }

    public func process(_ record: inout LogRecord) -> LogProcessorDecision {
        body(&record)
    }
}

/// Drops records for which `predicate` is true.
public struct DropProcessor: LogProcessor {
    private let predicate: @Sendable (LogRecord) -> Bool

    public init(where predicate: @escaping @Sendable (LogRecord) -> Bool) {
        self.predicate = predicate
    }

    public func process(_ record: inout LogRecord) -> LogProcessorDecision {
        predicate(record) ? .drop : .keep
    }
}

/// Renames fields, e.g. to match another system's schema.
public struct RenameFieldsProcessor: LogProcessor {
    private let renames: [String: String]

    public init(_ renames: [String: String]) {
        self.renames = renames
    }

    public func process(_ record: inout LogRecord) -> LogProcessorDecision {
        for index in record.fields.indices {
            if let newKey = renames[record.fields[index].key] {
                record.fields[index].key = newKey
            }
        }
        return .keep
    }
}

/// Adds constant fields (e.g. `version`, `region`) to every record that does not already have them.
public struct AddFieldsProcessor: LogProcessor {
    private let fields: [LogField]

    public init(_ fields: Logger.Metadata) {
        self.fields = fields.sorted { $0.key < $1.key }.map { LogField(key: $0.key, value: $0.value) }
    }

    public func process(_ record: inout LogRecord) -> LogProcessorDecision {
        for field in fields where record[field: field.key] == nil {
            record.fields.append(field)
        }
        return .keep
    }
}
