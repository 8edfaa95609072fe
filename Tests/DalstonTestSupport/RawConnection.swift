import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a loopback port, for tests that need what an HTTP client library
/// will not do: stay idle, send half a request, trickle bytes, or hold many connections at once.
/// Its blocking calls run on their own thread (`onThread`), never on the test's executor.
public final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32

    public init(port: Int) throws {
        // The descriptor becomes the object's only once connected. Assigned before, a failed
        // connect closed it here and `deinit` (which runs for an initializer that throws after
        // every property is set) closed the same number again, by then perhaps another
        // test's socket or pipe: strace showed 60 such second closes in one run, and NIO's
        // `getsockname` failing with EBADF on a fresh socket was the result.
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw PortUnavailable() }
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw PortUnavailable()
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Sends all of `text`; false when the server has closed the connection.
    @discardableResult
    public func send(_ text: String) -> Bool {
        send(Array(text.utf8))
    }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    /// One read on the calling thread, giving up after `timeoutMilliseconds` (a port that turned
    /// out to belong to a server that never answers must not hold the thread).
    public func receiveBlocking(maximumBytes: Int, timeoutMilliseconds: Int32) -> [UInt8] {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: maximumBytes)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer[0..<count]) : []
    }

    /// What the server sends until it closes the connection or `timeout` passes, and whether it
    /// closed.
    public func receive(timeout: Duration) async -> (text: String, closed: Bool) {
        let descriptor = self.descriptor
        return await onThread {
            var received: [UInt8] = []
            let deadline = ContinuousClock.now + timeout
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while ContinuousClock.now < deadline {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let waitMilliseconds = max(1, Int32((deadline - .now).seconds * 1000))
                guard poll(&poller, 1, min(waitMilliseconds, 100)) > 0 else { continue }
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
                received += buffer[0..<count]
                if Self.holdsCompleteResponse(received) { break }
            }
            return (String(decoding: received, as: UTF8.self), false)
        }
    }

    /// One whole response with a `Content-Length` body has arrived.
    private static func holdsCompleteResponse(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n") else { return false }
        let headers = text[..<headerEnd.lowerBound].lowercased()
        guard let line = headers.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return false }
        return text[headerEnd.upperBound...].utf8.count >= length
    }
}

/// Runs blocking work on a thread of its own, so a test's waiting never holds one of the few
/// threads the concurrency runtime has (2 on the CI machine).
public func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}

/// `onThread` at a lower scheduling priority (nice 10, Linux threads have their own): for
/// CPU-heavy work such as recognising speech, which would otherwise starve the timing-sensitive
/// tests running beside it on a 2-core machine.
public func onBackgroundThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await onThread {
        #if os(Linux)
        // On Linux the nice value belongs to the thread: 0 names the calling one.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
        return work()
    }
}
