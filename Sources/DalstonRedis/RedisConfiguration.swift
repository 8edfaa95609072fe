import DalstonCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to reach Redis and how patient to be, usually from `REDIS_URL`.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String = "127.0.0.1"
    public var port: Int = 6379
    public var username: String?
    public var password: String?
    public var database: Int = 0
    /// A Redis that has not accepted the TCP connection within this is treated as down (callers
    /// get an error; reconnection goes on with back-off). On one network a second is generous.
    public var connectTimeout: Duration = .seconds(1)
    /// How long a (non-blocking) command may wait for its reply before the connection is reset.
    public var commandTimeout: Duration = .seconds(10)
    /// Most connections the client opens for commands (subscribers have their own).
    public var maximumConnections: Int = 16
    /// Whether the work given to `RedisClient.withConnection` (every command) runs on the
    /// connection's event loop, saving two thread crossings per round trip. Turn it off for
    /// bodies that do slow work of their own between commands.
    public var runsCommandsOnEventLoop = true
    public var reconnectBackoff = Backoff()

    public init(host: String = "127.0.0.1", port: Int = 6379) {
        self.host = host
        self.port = port
    }

    /// Parses `redis://[user[:password]@]host[:port][/db]`. `rediss://` (TLS) and Unix sockets are
    /// refused with a clear error rather than silently connecting in plain text.
    public init(url text: String) throws(RedisError) {
        let trimmed = text.trimmingCharacters(in: " \t\n\r")
        guard let schemeEnd = trimmed.firstRange(of: "://") else {
            throw .invalidURL("expected redis://host:port/db, got \(Self.redactingPassword(trimmed))")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        switch scheme {
        case "redis": break
        case "rediss": throw .invalidURL("rediss:// (TLS) is not supported yet; use redis:// on a trusted network or a TLS proxy")
        case "unix": throw .invalidURL("unix:// sockets are not supported; use redis://host:port")
        default: throw .invalidURL("unknown scheme \"\(scheme)\"; use redis://")
        }
        var rest = Substring(trimmed[schemeEnd.upperBound...])
        if rest.contains("?") || rest.contains("#") {
            throw .invalidURL("query parameters are not supported; set timeouts in code")
        }
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = try Self.percentDecoded(userInfo[..<colon])
                username = user.isEmpty ? nil : user
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else if !userInfo.isEmpty {
                // `redis://secret@host`: Redis' convention is a password without a user.
                password = try Self.percentDecoded(userInfo)
            }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else { throw .invalidURL("database \"\(dbText)\" is not a number ≥ 0") }
                database = db
            }
        }
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw .invalidURL("unterminated IPv6 address") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            hostPort = hostPort[hostPort.index(after: close)...]
            if hostPort.hasPrefix(":") { try setPort(hostPort.dropFirst()) } else if !hostPort.isEmpty {
                throw .invalidURL("unexpected text after the IPv6 address")
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            try setPort(hostPort[hostPort.index(after: colon)...])
        } else {
            host = String(hostPort)
        }
        if host.isEmpty { host = "127.0.0.1" }
    }

    private mutating func setPort(_ text: Substring) throws(RedisError) {
        guard let value = Int(text), (1...65535).contains(value) else { throw .invalidURL("port \"\(text)\" is not in 1...65535") }
        port = value
    }

    /// `redis://host:port/db` without credentials, for logs and error messages.
    public var endpoint: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "redis://\(shownHost):\(port)/\(database)"
    }

    static func redactingPassword(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.firstRange(of: "://") else { return text }
        return String(text[..<scheme.upperBound]) + "***" + String(text[at...])
    }

    private static func percentDecoded(_ text: Substring) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw .invalidURL("bad percent-encoding in the credentials")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Capped exponential backoff with jitter, for reconnecting without hammering a server that is down.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration = .milliseconds(50)
    public var maximum: Duration = .seconds(2)
    public var multiplier: Double = 2

    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(2), multiplier: Double = 2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }

    /// The delay before attempt `attempt` (0-based), with ±20 % jitter so that many clients
    /// coming back at once spread out.
    public func delay(attempt: Int) -> Duration {
        let base = initial.seconds * pow(multiplier, Double(min(attempt, 30)))
        let capped = min(base, maximum.seconds)
        return .seconds(capped * Double.random(in: 0.8...1.2))
    }
}


extension String {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        guard let start = firstIndex(where: { !characters.contains($0) }),
              let end = lastIndex(where: { !characters.contains($0) })
        else { return "" }
        return String(self[start...end])
    }
}
