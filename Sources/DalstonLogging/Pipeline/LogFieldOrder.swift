import Logging

/// The line order of fields: well-known context keys first, in `LogRecord.contextKeyOrder`, then
/// other context fields by key, then the call's own fields by key.
extension LogField {
    static let otherContextOrder: UInt8 = 100
    static let callFieldOrder: UInt8 = 200

    /// Matches on the byte count first: comparing unequal Swift strings is comparatively slow,
    /// and this runs for every field of every line.
    static func order(of key: String, isCallField: Bool) -> UInt8 {
        let other = isCallField ? callFieldOrder : otherContextOrder
        switch key.utf8.count {
        case 6: return key == "job_id" ? 1 : other
        case 7: return key == "task_id" ? 2 : key == "span_id" ? 7 : other
        case 8: return key == "trace_id" ? 6 : other
        case 9: return key == "engine_id" ? 3 : key == "worker_id" ? 5 : other
        case 10: return key == "request_id" ? 0 : key == "session_id" ? 4 : other
        default: return other
        }
    }

    /// Whether a field with this key is already in `fields` (count compared before bytes).
    /// Reads keys in place: `Array.contains(where:)` would copy every field it looks at.
    static func contains(_ key: String, in fields: [LogField]) -> Bool {
        let count = key.utf8.count
        return fields.withUnsafeBufferPointer { buffer in
            for index in buffer.indices where buffer[index].key.utf8.count == count && buffer[index].key == key {
                return true
            }
            return false
        }
    }

    /// Insertion sort: a line has a handful of fields, mostly told apart by the order byte alone.
    static func sortInLineOrder(_ fields: inout [LogField]) {
        guard fields.count > 1 else { return }
        fields.withUnsafeMutableBufferPointer { sortInLineOrder($0) }
    }

    static func sortInLineOrder(_ buffer: UnsafeMutableBufferPointer<LogField>) {
        guard buffer.count > 1 else { return }
        for index in 1..<buffer.count {
            var current = index
            while current > 0 && precedes(buffer[current], buffer[current - 1]) {
                buffer.swapAt(current, current - 1)
                current -= 1
            }
        }
    }

    @inline(__always)
    private static func precedes(_ lhs: borrowing LogField, _ rhs: borrowing LogField) -> Bool {
        lhs.order != rhs.order ? lhs.order < rhs.order : lhs.key < rhs.key
    }
}
