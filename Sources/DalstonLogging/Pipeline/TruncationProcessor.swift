import Logging

/// Cuts over-long strings (the event and field values) so one huge value cannot exceed the line
/// limits of log shippers (Loki, CloudWatch) and take the rest of the line with it.
///
/// Truncation happens on a UTF-8 character boundary and says how much was cut. Values that are
/// neither numbers, booleans nor errors are resolved to their description string here, once.
public struct TruncationProcessor: LogProcessor {
    public let maxBytes: Int

    public init(maxBytes: Int) {
        self.maxBytes = max(16, maxBytes)
    }

    public func process(_ record: inout LogRecord) -> LogProcessorDecision {
        if let cut = truncated(record.event) { record.event = cut }
        record.fields.withUnsafeMutableBufferPointer { fields in
            for index in fields.indices {
                if let cut = replacement(for: fields[index].value) {
                    fields[index].value = cut
                }
            }
        }
        return .keep
    }

    /// What a value is written as instead (cut, or resolved to its description), or `nil` when
    /// it stays as it is.
    @inline(__always)
    func replacement(for value: Logger.MetadataValue) -> Logger.MetadataValue? {
        if case .string(let text) = value, text.utf8.count <= maxBytes { return nil }
        return truncated(value)
    }

    private func truncated(_ value: Logger.MetadataValue) -> Logger.MetadataValue? {
        switch value {
        case .string(let text):
            return truncated(text).map { .string($0) }
        case .stringConvertible(let convertible):
            if ScalarKind(of: convertible) != nil { return nil }
            if let error = convertible as? LoggedError {
                return truncated(error.message).map { .error(LoggedError(type: error.type, message: $0)) }
            }
            // Resolve the description once here: it may be costly or have side effects, and the
            // renderer then writes the string instead of asking for the description again.
            let text = convertible.description
            return .string(truncated(text) ?? text)
        case .array, .dictionary:
            return value.rewritingElements(truncated)
        }
    }

    func truncated(_ text: String) -> String? {
        let utf8 = text.utf8
        guard utf8.count > maxBytes else { return nil }
        var end = utf8.index(utf8.startIndex, offsetBy: maxBytes)
        // Step back to the start of a character: never split a multi-byte UTF-8 sequence.
        while end > utf8.startIndex, utf8[end] & 0b1100_0000 == 0b1000_0000 {
            end = utf8.index(before: end)
        }
        let kept = String(decoding: utf8[..<end], as: UTF8.self)
        return kept + "…[truncated \(utf8.count - kept.utf8.count) bytes]"
    }
}
