@testable import DalstonRedis
import NIOCore
import NIOEmbedded
import Testing

private func parseAll(_ text: String) throws -> [RESPValue] {
    var buffer = ByteBuffer(string: text)
    var values: [RESPValue] = []
    while let value = try RESPParser().parse(&buffer) { values.append(value) }
    #expect(buffer.readableBytes == 0, "everything consumed")
    return values
}

private func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

/// Encodes a value the way a server would, to drive the parser with arbitrary shapes.
func encodeRESP(_ value: RESPValue) -> String {
    switch value {
    case .simpleString(let text): return "+\(text)\r\n"
    case .error(let text): return "-\(text)\r\n"
    case .integer(let number): return ":\(number)\r\n"
    case .bulkString(let buffer): return "$\(buffer.readableBytes)\r\n\(String(buffer: buffer))\r\n"
    case .verbatimString(let format, let text): return "=\(text.utf8.count + 4)\r\n\(format):\(text)\r\n"
    case .null: return "_\r\n"
    case .array(let values): return "*\(values.count)\r\n" + values.map(encodeRESP).joined()
    case .set(let values): return "~\(values.count)\r\n" + values.map(encodeRESP).joined()
    case .push(let values): return ">\(values.count)\r\n" + values.map(encodeRESP).joined()
    case .map(let entries): return "%\(entries.count)\r\n" + entries.map { encodeRESP($0.key) + encodeRESP($0.value) }.joined()
    case .double(let number): return ",\(number)\r\n"
    case .boolean(let flag): return "#\(flag ? "t" : "f")\r\n"
    case .bigNumber(let digits): return "(\(digits)\r\n"
    }
}

@Suite("RESP parser")
struct RESPParserTests {
    @Test("every RESP2 and RESP3 type", arguments: [
        ("+OK\r\n", RESPValue.simpleString("OK")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":-42\r\n", .integer(-42)),
        ("$12\r\nhello\r\nworld\r\n", bulk("hello\r\nworld")),
        ("$0\r\n\r\n", bulk("")),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("_\r\n", .null),
        ("*0\r\n", .array([])),
        ("*2\r\n:1\r\n*1\r\n+x\r\n", .array([.integer(1), .array([.simpleString("x")])])),
        (",3.25\r\n", .double(3.25)),
        (",-1.5e-3\r\n", .double(-0.0015)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: "Some string")),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        ("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", .map([
            RESPMapEntry(key: .simpleString("first"), value: .integer(1)),
            RESPMapEntry(key: .simpleString("second"), value: .integer(2)),
        ])),
        ("~2\r\n+a\r\n+b\r\n", .set([.simpleString("a"), .simpleString("b")])),
        (">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n", .push([.simpleString("message"), .simpleString("ch"), bulk("hi")])),
        ("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:7\r\n", .array([.integer(7)])),
    ])
    func types(wire: String, expected: RESPValue) throws {
        #expect(try parseAll(wire) == [expected])
    }

    @Test func nanDouble() throws {
        guard case .double(let value) = try parseAll(",nan\r\n").first else { Issue.record("not a double"); return }
        #expect(value.isNaN)
    }

    @Test func framesSplitAtEveryByteBoundaryWaitWithoutConsuming() throws {
        let wire = "*3\r\n$5\r\nhel\r\n\r\n%1\r\n+k\r\n~1\r\n,1.5\r\n:99\r\n" + "$-1\r\n" + ">2\r\n+message\r\n$3\r\nabc\r\n"
        let expected = try parseAll(wire)
        #expect(expected.count == 3)
        let bytes = Array(wire.utf8)
        for split in 0...bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<split])
            var values: [RESPValue] = []
            let parser = RESPParser()
            while let value = try parser.parse(&buffer) { values.append(value) }
            #expect(expected.starts(with: values), "split at \(split)")
            buffer.writeBytes(bytes[split...])
            while let value = try parser.parse(&buffer) { values.append(value) }
            #expect(values == expected, "split at \(split)")
        }
    }

    @Test func byteByByteThroughTheChannelDecoder() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPValueDecoder(parser: RESPParser())))
        let wire = Array("*2\r\n$4\r\nab\r\n\r\n,2.5\r\n+PONG\r\n".utf8)
        for byte in wire {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try channel.readInbound(as: [RESPValue].self) == [.array([bulk("ab\r\n"), .double(2.5)])])
        #expect(try channel.readInbound(as: [RESPValue].self) == [.simpleString("PONG")])
        #expect(try channel.readInbound(as: [RESPValue].self) == nil)
        try channel.writeInbound(ByteBuffer(string: ":1\r\n:2\r\n:3"))
        #expect(try channel.readInbound(as: [RESPValue].self) == [.integer(1), .integer(2)], "all complete values of a read, together")
        _ = try channel.finish()
    }

    @Test("malformed input is an error, never a crash or a hang", arguments: [
        "?what\r\n", ":12a\r\n", "$abc\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "*-5\r\n", "+no carriage return\n",
        "#x\r\n", ",1.2.3\r\n", "(12x\r\n", "_junk\r\n", "=2\r\nab\r\n", "%-1\r\n", "$999999999999\r\n",
    ])
    func malformed(wire: String) {
        var buffer = ByteBuffer(string: wire)
        #expect(throws: RESPProtocolError.self) { _ = try RESPParser().parse(&buffer) }
    }

    @Test func limitsStopUnboundedNestingAndLines() {
        var deep = ByteBuffer(string: String(repeating: "*1\r\n", count: 100) + ":1\r\n")
        #expect(throws: RESPProtocolError.self) { _ = try RESPParser().parse(&deep) }
        var parser = RESPParser()
        parser.maxLineLength = 16
        var long = ByteBuffer(string: "+" + String(repeating: "x", count: 100))
        #expect(throws: RESPProtocolError.self) { _ = try parser.parse(&long) }
        var hugeCount = ByteBuffer(string: "*99999999999\r\n")
        #expect(throws: RESPProtocolError.self) { _ = try RESPParser().parse(&hugeCount) }
    }

    @Test func fuzzRandomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("+-:$*_,#(=!%~>|\r\n0123456789-abc".utf8)
        var errors = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...40, using: &generator)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &generator) ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            var buffer = ByteBuffer(bytes: bytes)
            do {
                while let _ = try RESPParser().parse(&buffer) {}
            } catch {
                errors += 1
            }
        }
        #expect(errors > 0, "the fuzzer reached error paths")
    }

    @Test func fuzzRandomValuesRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        func randomValue(depth: Int) -> RESPValue {
            switch Int.random(in: 0...(depth > 3 ? 6 : 9), using: &generator) {
            case 0: return .simpleString("s\(Int.random(in: 0...999, using: &generator))")
            case 1: return .error("ERR \(Int.random(in: 0...9, using: &generator))")
            case 2: return .integer(Int64.random(in: .min ... .max, using: &generator))
            case 3: return bulk(String(repeating: "\r\n", count: Int.random(in: 0...3, using: &generator)) + "b")
            case 4: return .null
            case 5: return .boolean(Bool.random(using: &generator))
            case 6: return .double(Double(Int.random(in: -1000...1000, using: &generator)) / 8)
            case 7: return .array((0..<Int.random(in: 0...3, using: &generator)).map { _ in randomValue(depth: depth + 1) })
            case 8: return .map((0..<Int.random(in: 0...2, using: &generator)).map { _ in
                RESPMapEntry(key: randomValue(depth: depth + 1), value: randomValue(depth: depth + 1)) })
            default: return .push((0..<Int.random(in: 0...3, using: &generator)).map { _ in randomValue(depth: depth + 1) })
            }
        }
        for _ in 0..<2_000 {
            let value = randomValue(depth: 0)
            #expect(try parseAll(encodeRESP(value)) == [value])
        }
    }
}

@Suite("Command handler")
struct RedisCommandHandlerTests {
    private typealias Replies = [Result<RESPValue, RedisError>]

    private func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(RESPValueDecoder(parser: RESPParser())),
            RedisCommandHandler(),
        ])
        return channel
    }

    private func send(_ commands: [RedisCommand], on channel: EmbeddedChannel) -> EventLoopFuture<Replies> {
        let promise = channel.eventLoop.makePromise(of: Replies.self)
        channel.writeAndFlush(RedisRequest(commands: commands, promise: promise), promise: nil)
        return promise.futureResult
    }

    @Test func pipelinedRepliesAreMatchedInOrder() throws {
        let channel = try makeChannel()
        let batch = send((0..<3).map { RedisCommand("GET", RedisArgument("k\($0)")) }, on: channel)
        let single = send([RedisCommand("PING")], on: channel)
        let written = try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } ?? ""
        #expect(written == "*2\r\n$3\r\nGET\r\n$2\r\nk0\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n",
                "a batch is one write")
        try channel.writeInbound(ByteBuffer(string: "$2\r\nv0\r\n-WRONGTYPE no\r\n:3\r\n+PONG\r\n"))
        let replies = try batch.wait()
        #expect(try replies[0].get() == bulk("v0"))
        #expect(throws: RedisError.server("WRONGTYPE no")) { try replies[1].get() }
        #expect(try replies[2].get() == .integer(3))
        #expect(try single.wait().first?.get() == .simpleString("PONG"))
        _ = try channel.finish()
    }

    @Test func malformedReplyFailsEveryPendingCommandAndCloses() throws {
        let channel = try makeChannel()
        let first = send([RedisCommand("PING")], on: channel)
        let second = send([RedisCommand("PING"), RedisCommand("PING")], on: channel)
        // The handler consumes the decode error: it fails what is pending and closes the channel.
        try channel.writeInbound(ByteBuffer(string: "?garbage\r\n"))
        for future in [first, second] {
            #expect {
                try future.wait()
            } throws: { error in
                if case .protocolViolation(let reason) = error as? RedisError { return reason.contains("unknown type byte") }
                return false
            }
        }
        #expect(!channel.isActive)
    }

    @Test func closingFailsPendingCommandsWithConnectionClosed() throws {
        let channel = try makeChannel()
        let future = send([RedisCommand("BLMOVE")], on: channel)
        try channel.close().wait()
        #expect(throws: RedisError.connectionClosed) { try future.wait() }
    }

    @Test func largeArgumentCountsAndLengthsEncodeExactly() {
        var buffer = ByteBuffer()
        RedisCommand("SET", RedisArgument("k"), RedisArgument(bytes: Array(repeating: 0x61, count: 1234))).encode(into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1234\r\n" + String(repeating: "a", count: 1234) + "\r\n")
    }
}

@Suite("REDIS_URL")
struct RedisConfigurationTests {
    @Test func fullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://worker:p%40ss%3Aword@cache.internal:6380/3")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "worker")
        #expect(configuration.password == "p@ss:word")
        #expect(configuration.database == 3)
        #expect(configuration.endpoint == "redis://cache.internal:6380/3", "no credentials in the printable form")
    }

    @Test func defaultsPasswordOnlyAndIPv6() throws {
        let plain = try RedisConfiguration(url: "redis://localhost")
        #expect(plain.port == 6379 && plain.database == 0 && plain.password == nil)
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@127.0.0.1:7000")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret")
        let legacy = try RedisConfiguration(url: "redis://secret@host")
        #expect(legacy.password == "secret")
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:6390/1")
        #expect(ipv6.host == "::1" && ipv6.port == 6390 && ipv6.endpoint == "redis://[::1]:6390/1")
    }

    @Test("unusable URLs say why", arguments: [
        ("rediss://host", "TLS"), ("unix:///tmp/redis.sock", "unix"), ("http://host", "unknown scheme"),
        ("redis://host:99999", "port"), ("redis://host/abc", "database"), ("localhost:6379", "expected redis://"),
        ("redis://host?timeout=1", "query"), ("redis://u:%zz@host", "percent"),
    ])
    func invalid(url: String, expected: String) {
        #expect {
            try RedisConfiguration(url: url)
        } throws: { error in
            "\(error)".contains(expected) && !"\(error)".contains("%zz@")
        }
    }
}
