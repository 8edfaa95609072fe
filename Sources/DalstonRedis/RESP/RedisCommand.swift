public import NIOCore

/// A command as Redis receives it: an array of binary-safe arguments, the first being its name.
///
/// Encoded to RESP once, when it is made, into one byte array: writing it is then a single copy,
/// which matters when thousands of commands are pipelined.
public struct RedisCommand: Sendable, Equatable, CustomStringConvertible {
    /// The command's name, upper-cased (what logs show; arguments are never logged).
    public let name: String
    /// How many arguments follow the name.
    public let argumentCount: Int
    /// The command in RESP: `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
    public let encoded: [UInt8]

    public init(_ name: String, _ arguments: [RedisArgument]) {
        self.name = name.uppercased()
        self.argumentCount = arguments.count
        var bytes: [UInt8] = []
        bytes.reserveCapacity(arguments.reduce(24 + name.utf8.count) { $0 + $1.byteCount + 16 })
        bytes.append(UInt8(ascii: "*"))
        Self.appendDecimal(arguments.count + 1, to: &bytes)
        Self.appendBulk(name.utf8, count: name.utf8.count, to: &bytes)
        for argument in arguments {
            switch argument.storage {
            case .text(let text): Self.appendBulk(text.utf8, count: text.utf8.count, to: &bytes)
            case .bytes(let raw): Self.appendBulk(raw, count: raw.count, to: &bytes)
            }
        }
        self.encoded = bytes
    }

    public init(_ name: String, _ arguments: RedisArgument...) {
        self.init(name, arguments)
    }

    public var description: String { "\(name) (\(argumentCount) arguments)" }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeBytes(encoded)
    }

    var encodedSizeEstimate: Int { encoded.count }

    private static func appendBulk<Bytes: Sequence<UInt8>>(_ payload: Bytes, count: Int, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(count, to: &bytes)
        bytes.append(contentsOf: payload)
        bytes.append(UInt8(ascii: "\r"))
        bytes.append(UInt8(ascii: "\n"))
    }

    /// `value` in decimal followed by CRLF, without building a String.
    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var remaining = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(remaining / divisor))
            remaining %= divisor
            divisor /= 10
        }
        bytes.append(UInt8(ascii: "\r"))
        bytes.append(UInt8(ascii: "\n"))
    }
}

/// Something that can be a command argument: text (sent as its UTF-8) or raw bytes.
public struct RedisArgument: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    enum Storage: Sendable, Equatable {
        case text(String)
        case bytes([UInt8])
    }

    let storage: Storage

    public init(bytes: [UInt8]) { self.storage = .bytes(bytes) }
    public init(_ text: String) { self.storage = .text(text) }
    public init(_ number: Int) { self.storage = .text(String(number)) }
    public init(_ number: Int64) { self.storage = .text(String(number)) }
    public init(_ number: Double) { self.storage = .text(String(number)) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }

    var byteCount: Int {
        switch storage {
        case .text(let text): return text.utf8.count
        case .bytes(let bytes): return bytes.count
        }
    }
}
