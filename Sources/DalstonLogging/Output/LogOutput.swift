import Logging

/// Where a pipeline's rendered lines go, and the one rule both rendering paths share: a line at
/// `warning` or above is not held in a buffer, it is written before its log call returns (with
/// the lines buffered before it).
struct LogOutput: Sendable {
    let writer: any LogLineWriter
    private let bufferedWriter: BufferedLineWriter?

    init(_ writer: any LogLineWriter) {
        self.writer = writer
        self.bufferedWriter = writer as? BufferedLineWriter
    }

    @inline(__always)
    func write(_ line: borrowing LineBuffer, level: Logger.Level) {
        line.withUnsafeBytes { writer.write(line: $0) }
        if level >= .warning { bufferedWriter?.flush() }
    }
}
