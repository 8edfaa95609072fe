/// Turns a processed record into the bytes of one line (including the trailing newline).
public protocol LogRenderer: Sendable {
    func render(_ record: LogRecord, into line: inout LineBuffer)
}
