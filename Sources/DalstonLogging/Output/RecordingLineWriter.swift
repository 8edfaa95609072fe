import Synchronization

/// Keeps lines in memory, for tests of code that logs.
public final class RecordingLineWriter: LogLineWriter {
    private let storage = Mutex<[String]>([])

    public init() {}

    public func write(line: UnsafeRawBufferPointer) {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        storage.withLock { $0.append(text) }
    }

    /// The lines written so far, without their newlines.
    public var lines: [String] { storage.withLock { $0 } }

    public func removeAll() { storage.withLock { $0.removeAll() } }
}
