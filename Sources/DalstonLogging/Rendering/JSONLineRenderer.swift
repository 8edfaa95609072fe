import Logging

/// One JSON object per line, keys in a fixed order:
/// `timestamp`, `level`, `service`, `logger`, `event`, the record's fields, then
/// `source`, `file`, `line` when the record has a location.
///
/// A field whose key collides with one of those top-level keys is written as `_<key>`: duplicate
/// keys would let a logged value override the real level or event in most JSON parsers.
public struct JSONLineRenderer: LogRenderer {
    public init() {}

    public func render(_ record: LogRecord, into line: inout LineBuffer) {
        line.append(#"{"timestamp":""#)
        line.append(record.timestamp)
        line.append(#"","level":""#)
        line.append(raw: record.level.rawValue)
        line.append(#"","service":"#)
        JSONValueWriter.appendString(record.service, to: &line)
        line.append(#","logger":"#)
        JSONValueWriter.appendString(record.logger, to: &line)
        line.append(#","event":"#)
        JSONValueWriter.appendString(record.event, to: &line)
        let hasLocation = record.location != nil
        record.fields.withUnsafeBufferPointer { fields in
            for index in fields.indices {
                line.append(UInt8(ascii: ","))
                if Self.isReservedKey(fields[index].key, hasLocation: hasLocation) {
                    JSONValueWriter.appendString("_" + fields[index].key, to: &line)
                } else {
                    JSONValueWriter.appendString(fields[index].key, to: &line)
                }
                line.append(UInt8(ascii: ":"))
                JSONValueWriter.appendValue(fields[index].value, to: &line)
            }
        }
        if let location = record.location {
            line.append(#","source":"#)
            JSONValueWriter.appendString(location.source, to: &line)
            line.append(#","file":"#)
            JSONValueWriter.appendString(location.file, to: &line)
            line.append(#","line":"#)
            line.append(raw: location.line.description)
        }
        line.append("}\n")
    }

    /// Byte count first: unequal string comparisons are slow and this runs for every field.
    static func isReservedKey(_ key: String, hasLocation: Bool) -> Bool {
        switch key.utf8.count {
        case 0...3: return false
        case 4: if hasLocation && (key == "file" || key == "line") { return true }
        case 5: if key == "level" || key == "event" { return true }
        case 6: if key == "logger" || (hasLocation && key == "source") { return true }
        case 7: if key == "service" { return true }
        case 9: if key == "timestamp" { return true }
        default: break
        }
        return key.utf8.first == UInt8(ascii: "_") && isReservedKey(String(key.dropFirst()), hasLocation: hasLocation)
    }
}
