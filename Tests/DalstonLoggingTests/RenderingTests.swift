import DalstonLogging
import Foundation
import Logging
import Testing

/// 2023-11-14T22:13:20.123456Z
private let fixedTime = LogTimestamp(secondsSinceEpoch: 1_700_000_000, nanoseconds: 123_456_789)

private func record(_ fields: [(String, Logger.MetadataValue)], level: Logger.Level = .info, event: String = "job_created", location: LogSourceLocation? = nil) -> LogRecord {
    LogRecord(
        timestamp: fixedTime, level: level, service: "gateway", logger: "dalston.gateway", event: event,
        fields: fields.map { LogField(key: $0.0, value: $0.1) }, location: location)
}

private func render(_ record: LogRecord, with renderer: some LogRenderer) -> String {
    var line = LineBuffer(capacity: 64)
    renderer.render(record, into: &line)
    return line.string
}

@Suite("Timestamps")
struct TimestampTests {
    @Test("ISO-8601 UTC with microseconds", arguments: [
        (Int64(0), Int32(0), "1970-01-01T00:00:00.000000Z"),
        (951_782_400, 999_999_999, "2000-02-29T00:00:00.999999Z"),
        (1_700_000_000, 123_456_789, "2023-11-14T22:13:20.123456Z"),
        (4_102_444_799, 1000, "2099-12-31T23:59:59.000001Z"),
        (4_102_444_800, 0, "2100-01-01T00:00:00.000000Z"),
        (-1, 0, "1969-12-31T23:59:59.000000Z"),
    ])
    func formats(seconds: Int64, nanos: Int32, expected: String) {
        #expect(LogTimestamp(secondsSinceEpoch: seconds, nanoseconds: nanos).iso8601 == expected)
    }

    @Test func everyDayOfFourHundredYearsMatchesTheCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        for day in stride(from: Int64(-800), to: 146_097 + 800, by: 1) {
            let seconds = day * 86_400 + 3661
            let expected = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            let text = LogTimestamp(secondsSinceEpoch: seconds, nanoseconds: 0).iso8601
            let wanted = String(format: "%04d-%02d-%02dT01:01:01.000000Z", expected.year ?? 0, expected.month ?? 0, expected.day ?? 0)
            if text != wanted {
                Issue.record("day \(day): \(text) != \(wanted)")
                return
            }
        }
    }
}

@Suite("JSON renderer")
struct JSONRendererTests {
    @Test func goldenLine() {
        let line = render(record([
            ("request_id", "req_1"), ("job_id", "job_2"), ("audio_bytes", .stringConvertible(320_044)),
            ("ratio", .stringConvertible(0.25)), ("ok", .stringConvertible(true)), ("language", "en"),
        ]), with: JSONLineRenderer())
        #expect(line == #"{"timestamp":"2023-11-14T22:13:20.123456Z","level":"info","service":"gateway","logger":"dalston.gateway","event":"job_created","request_id":"req_1","job_id":"job_2","audio_bytes":320044,"ratio":0.25,"ok":true,"language":"en"}"# + "\n")
    }

    @Test func typesSurviveParsing() throws {
        let line = render(record([
            ("int", .stringConvertible(-7)), ("uint8", .stringConvertible(UInt8(200))), ("double", .stringConvertible(1.5e-7)),
            ("float", .stringConvertible(Float(2.5))), ("flag", .stringConvertible(false)), ("nan", .stringConvertible(Double.nan)),
            ("inf", .stringConvertible(-Double.infinity)), ("nested", ["a": .stringConvertible(1), "b": ["x", .stringConvertible(true)]]),
        ]), with: JSONLineRenderer())
        let object = try JSONLine.object(line)
        #expect(object["int"] as? Int == -7)
        #expect(object["uint8"] as? Int == 200)
        #expect(object["double"] as? Double == 1.5e-7)
        #expect(object["float"] as? Double == 2.5)
        #expect(line.contains(#""flag":false"#))
        #expect(object["nan"] as? String == "nan", "non-finite numbers have no JSON form: written as strings")
        #expect(object["inf"] as? String == "-inf")
        #expect(line.contains(#""nested":{"a":1,"b":["x",true]}"#))
    }

    @Test func locationAndErrorShape() throws {
        let location = LogSourceLocation(source: "DalstonGateway", file: "DalstonGateway/Upload.swift", function: "f()", line: 42)
        let error = LoggedError(type: "DalstonRedis.RedisError", message: "connection refused")
        let line = render(record([("error", .error(error))], level: .debug, location: location), with: JSONLineRenderer())
        #expect(line.hasSuffix(#""error":{"type":"DalstonRedis.RedisError","message":"connection refused"},"source":"DalstonGateway","file":"DalstonGateway/Upload.swift","line":42}"# + "\n"))
    }

    @Test func fieldsCannotForgeTopLevelKeys() throws {
        let line = render(record([("level", "critical"), ("event", "forged"), ("_level", "x"), ("line", .stringConvertible(1))],
                                 location: LogSourceLocation(source: "M", file: "M/F.swift", function: "f", line: 9)), with: JSONLineRenderer())
        let keys = JSONLine.topLevelKeys(line)
        #expect(Set(keys).count == keys.count, "no duplicate keys: \(keys)")
        let object = try JSONLine.object(line)
        #expect(object["level"] as? String == "info")
        #expect(object["event"] as? String == "job_created")
        #expect(object["_level"] as? String == "critical")
        #expect(object["__level"] as? String == "x")
        #expect(object["line"] as? Int == 9)
        #expect(object["_line"] as? Int == 1)
    }

    @Test("hostile values keep one valid JSON line", arguments: [
        "line one\nline two", "quote \" and backslash \\", "nul \u{0}", "escape \u{1B}[31mred", "\r\n{\"level\":\"critical\"}",
        "tab\tbell\u{7}del\u{7F}", "c1 \u{85}\u{9B}", "separators \u{2028}\u{2029}", "bidi \u{202E}evil\u{2066}", "emoji 🎙️ café",
        String(repeating: "x", count: 100_000),
    ])
    func hostileValues(value: String) throws {
        let line = render(record([(value, .string(value)), ("dict", [value: .string(value)])], event: value), with: JSONLineRenderer())
        #expect(line.hasSuffix("\n"))
        let body = line.dropLast()
        #expect(!body.contains("\n") && !body.contains("\r"))
        #expect(!body.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{202E}" })
        let object = try JSONLine.object(String(body))
        #expect(object["event"] as? String == value, "escaping round-trips exactly")
        #expect((object["dict"] as? [String: Any])?[value] as? String == value)
    }

    @Test func invalidUTF8IsRepairedNotPassedThrough() throws {
        let broken = String(decoding: [0x61, 0xFF, 0xC3, 0x28, 0x62], as: UTF8.self)
        let line = render(record([("bytes", .string(broken))]), with: JSONLineRenderer())
        let object = try JSONLine.object(line)
        #expect(object["bytes"] as? String == "a\u{FFFD}\u{FFFD}(b")
    }
}

@Suite("Console renderer")
struct ConsoleRendererTests {
    @Test func goldenLinePlain() {
        let line = render(record([("request_id", "req_1"), ("count", .stringConvertible(3)), ("path", "/v1/audio")]), with: ConsoleLineRenderer(colors: false))
        #expect(line == "2023-11-14T22:13:20.123456Z info     job_created                      request_id=req_1 count=3 path=/v1/audio logger=dalston.gateway\n")
    }

    @Test func goldenLineColoured() {
        let line = render(record([("n", .stringConvertible(1))], level: .error), with: ConsoleLineRenderer(colors: true))
        #expect(line == "\u{1B}[2m2023-11-14T22:13:20.123456Z\u{1B}[0m \u{1B}[31merror\u{1B}[0m    \u{1B}[1mjob_created\u{1B}[0m                      \u{1B}[36mn\u{1B}[0m=1 \u{1B}[2mlogger=dalston.gateway\u{1B}[0m\n")
    }

    @Test func levelsAlign() {
        let renderer = ConsoleLineRenderer(colors: false)
        let starts = Logger.Level.allCases.map { level in
            let line = render(record([("k", "v")], level: level), with: renderer)
            return line.range(of: "job_created").map { line.distance(from: line.startIndex, to: $0.lowerBound) }
        }
        #expect(Set(starts).count == 1)
    }

    @Test("values cannot forge a line or inject escapes", arguments: [
        "two\nlines", "\u{1B}[2J", "ok 2023-11-14T22:13:20.123456Z critical forged", "x=y", "\u{9B}31m", "a\u{2028}b", "",
    ])
    func hostile(value: String) {
        let line = render(record([("value", .string(value))], event: "evt\n" + value), with: ConsoleLineRenderer(colors: false))
        #expect(line.filter { $0 == "\n" }.count == 1 && line.hasSuffix("\n"))
        #expect(!line.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x9B || $0 == "\u{2028}" })
        #expect(line.contains("value=\"") || value.allSatisfy { $0.isLetter })
    }

    @Test func errorsShowTypeAndMessage() {
        let line = render(record([("error", .error(LoggedError(type: "Mod.Err", message: "boom")))]), with: ConsoleLineRenderer(colors: false))
        #expect(line.contains(#"error="Mod.Err: boom""#))
    }
}
