/// Where rendered lines go. Implementations must write each line whole (never interleaved with
/// another line) and must not throw or crash when the destination is gone.
public protocol LogLineWriter: Sendable {
    /// Writes one complete line, newline included.
    func write(line: UnsafeRawBufferPointer)

    /// Lines this writer could not deliver since it was made (0 for writers that never drop).
    var droppedLines: UInt64 { get }
}

extension LogLineWriter {
    public var droppedLines: UInt64 { 0 }
}
