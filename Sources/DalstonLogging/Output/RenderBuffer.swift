#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A per-thread byte buffer that renderers write into, so an enabled log call does not allocate
/// a fresh line buffer each time.
///
/// If rendering re-enters logging on the same thread (a `description` that logs), the nested
/// call gets a temporary buffer instead of corrupting the outer line.
final class RenderBuffer {
    var bytes: [UInt8] = []
    var inUse = false

    /// Lines longer than this are not kept between calls, so one huge line does not pin memory.
    static let retainedCapacity = 16 * 1024

    static func withBuffer<Result>(_ body: (inout [UInt8]) -> Result) -> Result {
        let buffer = current()
        if buffer.inUse {
            var scratch: [UInt8] = []
            scratch.reserveCapacity(512)
            return body(&scratch)
        }
        buffer.inUse = true
        buffer.bytes.removeAll(keepingCapacity: true)
        defer {
            buffer.inUse = false
            if buffer.bytes.capacity > retainedCapacity { buffer.bytes = [] }
        }
        return body(&buffer.bytes)
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
        buffer.bytes.reserveCapacity(1024)
        pthread_setspecific(key, Unmanaged.passRetained(buffer).toOpaque())
        return buffer
    }
}
