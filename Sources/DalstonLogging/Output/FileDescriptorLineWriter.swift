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
        let complete = lock.withLock { _ in writeAll(fileDescriptor, base, line.count) == line.count }
        if !complete {
            dropped.wrappingAdd(1, ordering: .relaxed)
        }
    }
}

/// Writes all `count` bytes, retrying interrupted and partial writes; a descriptor someone made
/// non-blocking is waited on (up to 1 s a time) rather than spun on. Returns the bytes written:
/// fewer than `count` when the destination failed (closed pipe, full disk, a stall over 1 s).
func writeAll(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    var offset = 0
    while offset < count {
        let written = systemWrite(fd, bytes + offset, count - offset)
        if written > 0 {
            offset += written
            continue
        }
        switch errno {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&descriptor, 1, 1000) > 0 { continue }
            return offset
        default:
            return offset
        }
    }
    return offset
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc) || canImport(Musl)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
