public import NIOCore

/// A protocol violation in bytes received from the server. The connection it came from can no
/// longer be trusted and is closed.
public struct RESPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { "malformed RESP from server: \(reason)" }
}

/// Incremental RESP2/RESP3 parser.
///
/// `parse` reads one complete value from the front of a buffer, or returns `nil` without consuming
/// anything when the value is not complete yet. Limits keep a hostile or broken peer from making
/// the client buffer without bound or recurse without bound.
public struct RESPParser: Sendable {
    /// Longest accepted line (simple strings, errors, numbers), excluding CRLF.
    public var maxLineLength = 64 * 1024
    /// Largest accepted bulk string (Redis' own `proto-max-bulk-len` default).
    public var maxBulkLength = 512 * 1024 * 1024
    /// Most elements in one aggregate.
    public var maxAggregateCount = 1 << 24
    /// Deepest nesting of aggregates.
    public var maxDepth = 64

    public init() {}

    public func parse(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        var cursor = buffer.readerIndex
        guard let value = try parseValue(buffer, at: &cursor, depth: 0) else { return nil }
        buffer.moveReaderIndex(to: cursor)
        return value
    }

    private func parseValue(_ buffer: ByteBuffer, at cursor: inout Int, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard depth <= maxDepth else { throw RESPProtocolError(reason: "nesting deeper than \(maxDepth)") }
        guard let marker = buffer.getInteger(at: cursor, as: UInt8.self) else { return nil }
        var position = cursor + 1
        let value: RESPValue
        switch marker {
        case UInt8(ascii: "+"):
            guard let line = try readLine(buffer, at: &position) else { return nil }
            value = .simpleString(line)
        case UInt8(ascii: "-"):
            guard let line = try readLine(buffer, at: &position) else { return nil }
            value = .error(line)
        case UInt8(ascii: ":"):
            guard let number = try readInteger(buffer, at: &position, what: "integer") else { return nil }
            value = .integer(number)
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            guard let length = try readInteger(buffer, at: &position, what: "bulk length") else { return nil }
            if length == -1 && marker == UInt8(ascii: "$") {
                value = .null
                break
            }
            guard length >= 0, length <= maxBulkLength else {
                throw RESPProtocolError(reason: "bulk length \(length) outside 0...\(maxBulkLength)")
            }
            guard let bytes = try readBulk(buffer, at: &position, length: Int(length)) else { return nil }
            switch marker {
            case UInt8(ascii: "!"):
                value = .error(String(buffer: bytes))
            case UInt8(ascii: "="):
                let text = String(buffer: bytes)
                guard text.utf8.count >= 4, text.utf8[text.utf8.index(text.utf8.startIndex, offsetBy: 3)] == UInt8(ascii: ":") else {
                    throw RESPProtocolError(reason: "verbatim string without a 3-letter format prefix")
                }
                value = .verbatimString(format: String(text.prefix(3)), text: String(text.dropFirst(4)))
            default:
                value = .bulkString(bytes)
            }
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = try readInteger(buffer, at: &position, what: "aggregate length") else { return nil }
            if count == -1 && marker == UInt8(ascii: "*") {
                value = .null
                break
            }
            guard let elements = try readElements(buffer, at: &position, count: count, depth: depth) else { return nil }
            switch marker {
            case UInt8(ascii: "~"): value = .set(elements)
            case UInt8(ascii: ">"): value = .push(elements)
            default: value = .array(elements)
            }
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let count = try readInteger(buffer, at: &position, what: "map length") else { return nil }
            guard count >= 0, count <= maxAggregateCount / 2 else {
                throw RESPProtocolError(reason: "map length \(count) outside 0...\(maxAggregateCount / 2)")
            }
            guard let flat = try readElements(buffer, at: &position, count: count * 2, depth: depth) else { return nil }
            let entries = stride(from: 0, to: flat.count, by: 2).map { RESPMapEntry(key: flat[$0], value: flat[$0 + 1]) }
            if marker == UInt8(ascii: "|") {
                // Attributes annotate the reply that follows; Dalston has no use for them.
                guard let annotated = try parseValue(buffer, at: &position, depth: depth + 1) else { return nil }
                value = annotated
            } else {
                value = .map(entries)
            }
        case UInt8(ascii: "_"):
            guard let line = try readLine(buffer, at: &position) else { return nil }
            guard line.isEmpty else { throw RESPProtocolError(reason: "null with a payload") }
            value = .null
        case UInt8(ascii: "#"):
            guard let line = try readLine(buffer, at: &position) else { return nil }
            switch line {
            case "t": value = .boolean(true)
            case "f": value = .boolean(false)
            default: throw RESPProtocolError(reason: "boolean must be t or f")
            }
        case UInt8(ascii: ","):
            guard let line = try readLine(buffer, at: &position) else { return nil }
            switch line.lowercased() {
            case "inf", "+inf": value = .double(.infinity)
            case "-inf": value = .double(-.infinity)
            case "nan", "-nan": value = .double(.nan)
            default:
                guard let number = Double(line), !line.isEmpty else { throw RESPProtocolError(reason: "bad double \"\(line.prefix(40))\"") }
                value = .double(number)
            }
        case UInt8(ascii: "("):
            guard let line = try readLine(buffer, at: &position) else { return nil }
            let digits = line.hasPrefix("-") || line.hasPrefix("+") ? line.dropFirst() : Substring(line)
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw RESPProtocolError(reason: "bad big number")
            }
            value = .bigNumber(line)
        default:
            throw RESPProtocolError(reason: "unknown type byte 0x\(String(marker, radix: 16))")
        }
        cursor = position
        return value
    }

    private func readElements(_ buffer: ByteBuffer, at position: inout Int, count: Int64, depth: Int) throws(RESPProtocolError) -> [RESPValue]? {
        guard count >= 0, count <= maxAggregateCount else {
            throw RESPProtocolError(reason: "aggregate length \(count) outside 0...\(maxAggregateCount)")
        }
        var elements: [RESPValue] = []
        // Do not trust the announced count for the allocation: the bytes may never come.
        elements.reserveCapacity(min(Int(count), 1024))
        for _ in 0..<count {
            guard let element = try parseValue(buffer, at: &position, depth: depth + 1) else { return nil }
            elements.append(element)
        }
        return elements
    }

    /// The text up to the next CRLF, or `nil` when the CRLF has not arrived yet.
    private func readLine(_ buffer: ByteBuffer, at position: inout Int) throws(RESPProtocolError) -> String? {
        guard let range = try lineRange(buffer, at: &position) else { return nil }
        return buffer.getString(at: range.lowerBound, length: range.count) ?? ""
    }

    /// A decimal line read straight from the bytes (no String): lengths and integers are on every
    /// reply, so this is the parser's hot path.
    private func readInteger(_ buffer: ByteBuffer, at position: inout Int, what: String) throws(RESPProtocolError) -> Int64? {
        let start = position
        guard let range = try lineRange(buffer, at: &position) else { return nil }
        let parsed: Int64? = buffer.withUnsafeReadableBytes { bytes -> Int64? in
            let offset = range.lowerBound - buffer.readerIndex
            var index = offset
            let end = offset + range.count
            var negative = false
            if index < end && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < end, end - index <= 19 else { return nil }
            var value: Int64 = 0
            while index < end {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (added, overflow2) = multiplied.addingReportingOverflow(Int64(digit))
                guard !overflow1, !overflow2 else { return nil }
                value = added
                index += 1
            }
            return negative ? -value : value
        }
        guard let parsed else {
            let text = buffer.getString(at: range.lowerBound, length: min(range.count, 40)) ?? ""
            position = start
            throw RESPProtocolError(reason: "bad \(what) \"\(text)\"")
        }
        return parsed
    }

    /// Where the line's content is (excluding CRLF); moves `position` past the CRLF.
    private func lineRange(_ buffer: ByteBuffer, at position: inout Int) throws(RESPProtocolError) -> Range<Int>? {
        let available = buffer.writerIndex - position
        let searchLength = min(available, maxLineLength + 2)
        guard let newlineOffset = buffer.withUnsafeReadableBytes({ bytes -> Int? in
            let start = position - buffer.readerIndex
            return bytes[start..<(start + searchLength)].firstIndex(of: UInt8(ascii: "\n")).map { $0 - start }
        }) else {
            if available > maxLineLength + 1 { throw RESPProtocolError(reason: "line longer than \(maxLineLength) bytes") }
            return nil
        }
        guard newlineOffset > 0, buffer.getInteger(at: position + newlineOffset - 1, as: UInt8.self) == UInt8(ascii: "\r") else {
            throw RESPProtocolError(reason: "line ends in LF without CR")
        }
        let range = position..<(position + newlineOffset - 1)
        position += newlineOffset + 1
        return range
    }

    private func readBulk(_ buffer: ByteBuffer, at position: inout Int, length: Int) throws(RESPProtocolError) -> ByteBuffer? {
        guard buffer.writerIndex - position >= length + 2 else { return nil }
        guard buffer.getInteger(at: position + length, as: UInt8.self) == UInt8(ascii: "\r"),
              buffer.getInteger(at: position + length + 1, as: UInt8.self) == UInt8(ascii: "\n")
        else { throw RESPProtocolError(reason: "bulk string not followed by CRLF") }
        guard let bytes = buffer.getSlice(at: position, length: length) else { return nil }
        position += length + 2
        return bytes
    }

}
