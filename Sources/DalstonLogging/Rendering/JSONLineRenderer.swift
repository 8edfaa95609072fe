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
        Self.appendStart(timestamp: record.timestamp, level: record.level, to: &line)
        Self.appendServiceAndLogger(service: record.service, logger: record.logger, to: &line)
        JSONValueWriter.appendString(record.event, to: &line)
        let hasLocation = record.location != nil
        record.fields.withUnsafeBufferPointer { fields in
            for index in fields.indices {
                Self.appendField(key: fields[index].key, value: fields[index].value, hasLocation: hasLocation, to: &line)
            }
        }
        Self.appendEnd(location: record.location, to: &line)
    }

    /// `{"timestamp":"…","level":"…",`
    @inline(__always)
    static func appendStart(timestamp: LogTimestamp, level: Logger.Level, to line: inout LineBuffer) {
        line.append(#"{"timestamp":""#)
        line.append(timestamp)
        line.append(#"","level":""#)
        line.append(raw: level.rawValue)
        line.append(#"","#)
    }

    /// `"service":"…","logger":"…","event":`, the same on every line of one logger: the fast
    /// path renders it once per logger label.
    static func serviceAndLogger(service: String, logger: String) -> [UInt8] {
        var line = LineBuffer(capacity: 128)
        appendServiceAndLogger(service: service, logger: logger, to: &line)
        return line.withUnsafeBytes { Array($0) }
    }

    @inline(__always)
    static func appendServiceAndLogger(service: String, logger: String, to line: inout LineBuffer) {
        line.append(#""service":"#)
        JSONValueWriter.appendString(service, to: &line)
        line.append(#","logger":"#)
        JSONValueWriter.appendString(logger, to: &line)
        line.append(#","event":"#)
    }

    /// `,"key":value`, a key that collides with a top-level key written as `_key`.
    @inline(__always)
    static func appendField(key: String, value: Logger.MetadataValue, hasLocation: Bool, to line: inout LineBuffer) {
        appendKey(key, hasLocation: hasLocation, to: &line)
        JSONValueWriter.appendValue(value, to: &line)
    }

    /// `,"key":`, a key that collides with a top-level key written as `"_key"`.
    @inline(__always)
    static func appendKey(_ key: String, hasLocation: Bool, to line: inout LineBuffer) {
        line.append(UInt8(ascii: ","))
        if isReservedKey(key, hasLocation: hasLocation) {
            JSONValueWriter.appendString("_" + key, to: &line)
        } else {
            JSONValueWriter.appendString(key, to: &line)
        }
        line.append(UInt8(ascii: ":"))
    }

    /// The location, if any, then `}` and the newline.
    @inline(__always)
    static func appendEnd(location: LogSourceLocation?, to line: inout LineBuffer) {
        if let location {
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
