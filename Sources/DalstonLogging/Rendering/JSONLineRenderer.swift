import Logging

/// One JSON object per line, keys in a fixed order:
/// `timestamp`, `level`, `service`, `logger`, `event`, the record's fields, then
/// `source`, `file`, `line` when the record has a location.
///
/// A field whose key collides with one of those top-level keys is written as `_<key>`: duplicate
/// keys would let a logged value override the real level or event in most JSON parsers.
public struct JSONLineRenderer: LogRenderer {
    public init() {}

    public func render(_ record: LogRecord, into line: inout [UInt8]) {
        line.append(contentsOf: #"{"timestamp":""#.utf8)
        record.timestamp.appendISO8601(to: &line)
        line.append(contentsOf: #"","level":""#.utf8)
        line.append(contentsOf: record.level.rawValue.utf8)
        line.append(contentsOf: #"","service":"#.utf8)
        JSONValueWriter.appendString(record.service, to: &line)
        line.append(contentsOf: #","logger":"#.utf8)
        JSONValueWriter.appendString(record.logger, to: &line)
        line.append(contentsOf: #","event":"#.utf8)
        JSONValueWriter.appendString(record.event, to: &line)
        for field in record.fields {
            line.append(UInt8(ascii: ","))
            if Self.isReservedKey(field.key, hasLocation: record.location != nil) {
                JSONValueWriter.appendString("_" + field.key, to: &line)
            } else {
                JSONValueWriter.appendString(field.key, to: &line)
            }
            line.append(UInt8(ascii: ":"))
            JSONValueWriter.appendValue(field.value, to: &line)
        }
        if let location = record.location {
            line.append(contentsOf: #","source":"#.utf8)
            JSONValueWriter.appendString(location.source, to: &line)
            line.append(contentsOf: #","file":"#.utf8)
            JSONValueWriter.appendString(location.file, to: &line)
            line.append(contentsOf: #","line":"#.utf8)
            line.append(contentsOf: location.line.description.utf8)
        }
        line.append(contentsOf: "}\n".utf8)
    }

    static func isReservedKey(_ key: String, hasLocation: Bool) -> Bool {
        switch key {
        case "timestamp", "level", "service", "logger", "event": return true
        case "source", "file", "line": return hasLocation
        default: return key.hasPrefix("_") && isReservedKey(String(key.dropFirst()), hasLocation: hasLocation)
        }
    }
}
