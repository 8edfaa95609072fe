import Logging

/// Aligned, optionally coloured lines for people:
///
///     2026-11-25T03:31:38.123456Z info     job_created                      request_id=req_1 count=3 logger=dalston.gateway
///
/// Context fields (bound with `withLogContext`: ids and the like) are dimmed so the call's own
/// fields stand out. An error whose message spans lines shows its first line in place and the
/// rest indented under the line, each behind `    │ ` so no message can pass for a log line.
/// Values that are not plain words are quoted and escaped, so no value can start a new line,
/// pretend to be another field's end, or send terminal control sequences.
public struct ConsoleLineRenderer: LogRenderer {
    public let colors: Bool
    /// The event column's width; longer events push the fields right.
    public let eventWidth: Int

    public init(colors: Bool, eventWidth: Int = 32) {
        self.colors = colors
        self.eventWidth = eventWidth
    }

    public func render(_ record: LogRecord, into line: inout LineBuffer) {
        style(.dim, on: &line)
        line.append(record.timestamp)
        style(.reset, on: &line)
        line.append(UInt8(ascii: " "))

        style(Self.levelStyle(record.level), on: &line)
        line.append(raw: record.level.rawValue)
        style(.reset, on: &line)
        pad(from: record.level.rawValue.utf8.count, to: 9, on: &line)

        style(.bold, on: &line)
        let eventStart = line.count
        StringEscaping.appendEscaped(record.event, to: &line)
        let eventBytes = line.count - eventStart
        style(.reset, on: &line)

        if !record.fields.isEmpty { pad(from: eventBytes, to: eventWidth, on: &line) }
        var detail: [Substring] = []
        for field in record.fields {
            line.append(UInt8(ascii: " "))
            if field.order < LogField.callFieldOrder {
                style(.dim, on: &line)
                appendWord(field.key, to: &line)
                line.append(UInt8(ascii: "="))
                appendValue(field.value, on: &line)
                style(.reset, on: &line)
                continue
            }
            appendKey(field.key, on: &line)
            if case .stringConvertible(let convertible) = field.value, let error = convertible as? LoggedError, error.message.contains("\n") {
                let lines = error.description.split(separator: "\n", omittingEmptySubsequences: false)
                style(.red, on: &line)
                appendWord(String(lines[0]), to: &line)
                style(.reset, on: &line)
                detail += lines.dropFirst()
                continue
            }
            appendValue(field.value, on: &line)
        }
        line.append(UInt8(ascii: " "))
        style(.dim, on: &line)
        line.append("logger=")
        appendWord(record.logger, to: &line)
        if let location = record.location {
            line.append(" at=")
            appendWord("\(location.file):\(location.line)", to: &line)
        }
        style(.reset, on: &line)
        for part in detail {
            line.append(UInt8(ascii: "\n"))
            style(.dim, on: &line)
            line.append("    │ ")
            style(.reset, on: &line)
            style(.red, on: &line)
            StringEscaping.appendEscaped(String(part), to: &line)
            style(.reset, on: &line)
        }
        line.append(UInt8(ascii: "\n"))
    }

    private func appendKey(_ key: String, on line: inout LineBuffer) {
        style(.cyan, on: &line)
        appendWord(key, to: &line)
        style(.reset, on: &line)
        line.append(UInt8(ascii: "="))
    }

    private func appendValue(_ value: Logger.MetadataValue, on line: inout LineBuffer) {
        switch value {
        case .string(let text):
            appendWord(text, to: &line)
        case .stringConvertible(let convertible):
            if let literal = JSONValueWriter.numberOrBoolLiteral(convertible) {
                line.append(raw: literal)
            } else if let error = convertible as? LoggedError {
                style(.red, on: &line)
                appendWord(error.description, to: &line)
                style(.reset, on: &line)
            } else {
                appendWord(convertible.description, to: &line)
            }
        case .array, .dictionary:
            // Nested values as JSON: already escaped, and unambiguous to read back.
            JSONValueWriter.appendValue(value, to: &line)
        }
    }

    /// Writes `text` bare when it is a plain word, otherwise quoted and escaped.
    private func appendWord(_ text: String, to line: inout LineBuffer) {
        var text = text
        text.withUTF8 { bytes in
            if StringEscaping.isBareConsoleWord(bytes) {
                line.append(bytes)
            } else {
                line.append(UInt8(ascii: "\""))
                StringEscaping.appendEscaped(bytes, to: &line)
                line.append(UInt8(ascii: "\""))
            }
        }
    }

    private func pad(from used: Int, to width: Int, on line: inout LineBuffer) {
        if used < width {
            for _ in used..<width { line.append(UInt8(ascii: " ")) }
        }
    }

    enum Style: String {
        case reset = "\u{1B}[0m"
        case dim = "\u{1B}[2m"
        case bold = "\u{1B}[1m"
        case red = "\u{1B}[31m"
        case green = "\u{1B}[32m"
        case yellow = "\u{1B}[33m"
        case blue = "\u{1B}[34m"
        case cyan = "\u{1B}[36m"
        case boldRed = "\u{1B}[1;31m"
        case magenta = "\u{1B}[35m"
    }

    private func style(_ style: Style, on line: inout LineBuffer) {
        if colors { line.append(raw: style.rawValue) }
    }

    private static func levelStyle(_ level: Logger.Level) -> Style {
        switch level {
        case .trace: return .dim
        case .debug: return .blue
        case .info: return .green
        case .notice: return .magenta
        case .warning: return .yellow
        case .error: return .red
        case .critical: return .boldRed
        }
    }
}
