import Logging

/// Turns any `Error` value in a record's fields into a `LoggedError` (type + description), so the
/// renderers show what kind of error it was, not only its text.
///
/// Covers errors passed as `error:` to swift-log, `metadata: ["error": .error(e)]`, and errors
/// stored directly with `.stringConvertible(e)`, at any depth.
public struct ErrorFormattingProcessor: LogProcessor {
    public init() {}

    public func process(_ record: inout LogRecord) -> LogProcessorDecision {
        record.fields.withUnsafeMutableBufferPointer { fields in
            for index in fields.indices {
                if case .string = fields[index].value { continue }  // most values: no copy, no cast
                if let formatted = Self.formatted(fields[index].value) {
                    fields[index].value = formatted
                }
            }
        }
        return .keep
    }

    /// The value with errors replaced, or `nil` when it holds none (the common, allocation-free case).
    static func formatted(_ value: Logger.MetadataValue) -> Logger.MetadataValue? {
        switch value {
        case .string:
            return nil
        case .stringConvertible(let convertible):
            // Numbers are the common case: rule them out before the (slower) existential cast.
            if ScalarKind(of: convertible) != nil || convertible is LoggedError { return nil }
            if let error = convertible as? any Error { return .error(error) }
            return nil
        case .array, .dictionary:
            return value.rewritingElements(formatted)
        }
    }
}
