@testable import DalstonLogging
import Logging
import Testing

@Suite("Console format for people")
struct ConsolePolishTests {
    private func render(_ fields: [LogField], colors: Bool) -> String {
        let record = LogRecord(
            timestamp: LogTimestamp(secondsSinceEpoch: 1_700_000_000, nanoseconds: 0), level: .error, service: "gateway",
            logger: "dalston.gateway", event: "upload_failed", fields: fields, location: nil)
        var line = LineBuffer(capacity: 64)
        ConsoleLineRenderer(colors: colors).render(record, into: &line)
        return line.string
    }

    @Test func contextFieldsAreDimmedAndTheCallsOwnStandOut() {
        let line = render([
            LogField(key: "request_id", value: "req_1", order: LogField.order(of: "request_id", isCallField: false)),
            LogField(key: "bytes", value: .stringConvertible(12), order: LogField.callFieldOrder),
        ], colors: true)
        #expect(line.contains("\u{1B}[2mrequest_id=req_1\u{1B}[0m"), "\(line.debugDescription)")
        #expect(line.contains("\u{1B}[36mbytes\u{1B}[0m=12"))
    }

    /// A multi-line error reads as its first line in place and the rest indented under it; a
    /// message made to look like another log line stays behind the `│` margin.
    @Test func aMultiLineErrorIsIndentedUnderItsLineAndCannotForgeOne() {
        let message = "decoder failed\nat frame 12\n2023-11-14T22:13:20.000000Z critical forged_event"
        let line = render([LogField(key: "error", value: .error(LoggedError(type: "AudioError", message: message)), order: LogField.callFieldOrder)], colors: false)
        let lines = line.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4, "\(line.debugDescription)")
        #expect(lines[0].contains("error=\"AudioError: decoder failed\"") && lines[0].hasSuffix("logger=dalston.gateway"))
        #expect(lines[1] == "    │ at frame 12")
        #expect(lines[2] == "    │ 2023-11-14T22:13:20.000000Z critical forged_event")
        #expect(lines[3].isEmpty)
    }
}
