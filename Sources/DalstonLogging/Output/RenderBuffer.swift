#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A per-thread `LineBuffer`, so an enabled log call reuses memory instead of allocating a line.
///
/// If rendering re-enters logging on the same thread (a `description` that logs), the nested
/// call gets a temporary buffer instead of corrupting the outer line.
final class RenderBuffer {
    var line = LineBuffer(capacity: 2048)
    var inUse = false

    /// Lines longer than this are not kept between calls, so one huge line does not pin memory.
    static let retainedCapacity = 64 * 1024

    static func withBuffer<Result>(_ body: (inout LineBuffer) -> Result) -> Result {
        let buffer = current()
        if buffer.inUse {
            var scratch = LineBuffer(capacity: 1024)
            return body(&scratch)
        }
        buffer.inUse = true
        defer {
            buffer.line.removeAll(keepingCapacity: retainedCapacity)
            buffer.inUse = false
        }
        return body(&buffer.line)
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            #if canImport(Darwin)
            Unmanaged<RenderBuffer>.fromOpaque(pointer).release()
            #else
            if let pointer { Unmanaged<RenderBuffer>.fromOpaque(pointer).release() }
            #endif
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    private static func current() -> RenderBuffer {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<RenderBuffer>.fromOpaque(pointer).takeUnretainedValue()
        }
        let buffer = RenderBuffer()
        pthread_setspecific(key, Unmanaged.passRetained(buffer).toOpaque())
        return buffer
    }
}
