public import NIOCore

/// One reply from Redis, in any RESP2 or RESP3 type.
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    /// `-ERR ...` (RESP2) or a RESP3 blob error: the server's text.
    case error(String)
    case integer(Int64)
    /// Binary-safe; may contain CRLF.
    case bulkString(ByteBuffer)
    /// RESP3 verbatim string, e.g. `txt` + text.
    case verbatimString(format: String, text: String)
    /// RESP2 null bulk/array and RESP3 null.
    case null
    case array([RESPValue])
    case set([RESPValue])
    case map([RESPMapEntry])
    /// RESP3 out-of-band data (pub/sub messages, invalidations).
    case push([RESPValue])
    case double(Double)
    case boolean(Bool)
    /// Arbitrary-precision integer, as its decimal text.
    case bigNumber(String)
}

/// One key/value pair of a RESP3 map (kept in wire order).
public struct RESPMapEntry: Sendable, Equatable {
    public var key: RESPValue
    public var value: RESPValue

    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The value as text when it is a simple, bulk or verbatim string (bulk as UTF-8).
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let buffer): return String(buffer: buffer)
        case .verbatimString(_, let text): return text
        default: return nil
        }
    }

    public var int: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulkString, .simpleString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The elements of an array, set or push.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): return values
        default: return nil
        }
    }

    public var isNull: Bool { self == .null }

    /// The bytes of a bulk string.
    public var bytes: [UInt8]? {
        if case .bulkString(let buffer) = self { return Array(buffer.readableBytesView) }
        return string.map { Array($0.utf8) }
    }

    /// A flat key/value reply (HGETALL as an array in RESP2, a map in RESP3) as a dictionary.
    public var stringDictionary: [String: String]? {
        switch self {
        case .map(let entries):
            var result: [String: String] = [:]
            for entry in entries {
                guard let key = entry.key.string, let value = entry.value.string else { return nil }
                result[key] = value
            }
            return result
        case .array(let values):
            guard values.count % 2 == 0 else { return nil }
            var result: [String: String] = [:]
            var index = 0
            while index < values.count {
                guard let key = values[index].string, let value = values[index + 1].string else { return nil }
                result[key] = value
                index += 2
            }
            return result
        default:
            return nil
        }
    }
}
