#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Writes lines to a file descriptor (stdout by default) with one lock-protected `write(2)` per
/// line, so lines from many threads never interleave and each line reaches the kernel before
/// the log call returns (nothing is lost in a buffer when the process dies).
///
/// A closed or broken destination (EPIPE, EBADF, a full disk) never crashes the process: the
/// line is dropped and counted. `DalstonLogging.configure` ignores SIGPIPE so that a closed
/// pipe reports EPIPE instead of killing the process.
public final class FileDescriptorLineWriter: LogLineWriter {
    public let fileDescriptor: Int32
    private let lock = Mutex<Void>(())
    private let dropped = Atomic<UInt64>(0)

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    public static let standardOutput = FileDescriptorLineWriter(fileDescriptor: 1)
    public static let standardError = FileDescriptorLineWriter(fileDescriptor: 2)

    /// Lines that could not be written since start-up.
    public var droppedLines: UInt64 { dropped.load(ordering: .relaxed) }

    /// Whether the descriptor is a terminal (used to pick the default format and colours).
    public var isTerminal: Bool { isatty(fileDescriptor) == 1 }

    public func write(line: UnsafeRawBufferPointer) {
        guard let base = line.baseAddress, !line.isEmpty else { return }
        let complete = lock.withLock { _ in
            var offset = 0
            while offset < line.count {
                let written = systemWrite(fileDescriptor, base + offset, line.count - offset)
                if written > 0 {
                    offset += written
                    continue
                }
                switch errno {
                case EINTR:
                    continue
                case EAGAIN, EWOULDBLOCK:
                    // Someone made the descriptor non-blocking: wait briefly rather than spin or drop.
                    if waitUntilWritable(timeoutMilliseconds: 1000) { continue }
                    return false
                default:
                    return false
                }
            }
            return true
        }
        if !complete {
            dropped.wrappingAdd(1, ordering: .relaxed)
        }
    }

    private func waitUntilWritable(timeoutMilliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
        return poll(&descriptor, 1, timeoutMilliseconds) > 0
    }
}

/// `write(2)`, named apart from the writers' own `write(line:)`.
func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc) || canImport(Musl)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
