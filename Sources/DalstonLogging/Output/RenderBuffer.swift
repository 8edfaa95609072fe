#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Instrumentation

/// A thread's logging state: the `LineBuffer` lines are rendered into (an enabled log call reuses
/// memory instead of allocating a line), the JSON fast path's facts about call field keys, and
/// the last context's bound fields. Each is only touched by its own thread.
///
/// If rendering re-enters logging on the same thread (a `description` that logs), the nested
/// call gets a temporary buffer instead of corrupting the outer line.
final class RenderBuffer {
    var line = LineBuffer(capacity: 2048)
    var inUse = false
    /// The JSON fast path's facts about the call field keys this thread has logged.
    let callFieldKeys = CallFieldKeys()
    /// The `ServiceContext` this thread last logged in, and its bound fields: most lines are
    /// written in the context of the line before, and looking the fields up in a context costs a
    /// hash, a dictionary probe and a cast (about 80 ns), comparing two words none of that.
    private var lastContext: ServiceContext?
    private var lastContextBits: UInt = 0
    private var lastBound: BoundLogFields?

    /// The fields bound in `context` (`withLogContext`), from this thread's last lookup when the
    /// context is the same one.
    ///
    /// "The same one" is told by the context's storage: `ServiceContext` is a single dictionary,
    /// and the copy kept here keeps that storage alive and shared, so an equal address means equal
    /// contents (a change to any copy makes new storage). Should `ServiceContext` ever be more than
    /// one word, every lookup is made afresh.
    static func boundFields(in context: ServiceContext) -> BoundLogFields? {
        guard MemoryLayout<ServiceContext>.size == MemoryLayout<UInt>.size else { return context[LogFieldsKey.self] }
        let bits = withUnsafeBytes(of: context) { $0.load(as: UInt.self) }
        return currentUnretained()._withUnsafeGuaranteedRef { state in
            if bits == state.lastContextBits, state.lastContext != nil { return state.lastBound }
            let bound = context[LogFieldsKey.self]
            state.lastContext = context
            state.lastContextBits = bits
            state.lastBound = bound
            return bound
        }
    }

    /// Lines longer than this are not kept between calls, so one huge line does not pin memory.
    static let retainedCapacity = 64 * 1024

    static func withBuffer<Result>(_ body: (inout LineBuffer) -> Result) -> Result {
        if let result = withThreadState({ line, _ in body(&line) }) { return result }
        var scratch = LineBuffer(capacity: 1024)
        return body(&scratch)
    }

    /// The thread's buffer and key facts, or `nil` inside a nested log call on this thread (a
    /// `description` that logs), which must leave both alone and take the general path.
    static func withThreadState<Result>(_ body: (inout LineBuffer, CallFieldKeys) -> Result) -> Result? {
        currentUnretained()._withUnsafeGuaranteedRef { buffer in
            if buffer.inUse { return nil }
            buffer.inUse = true
            defer {
                buffer.line.removeAll(keepingCapacity: retainedCapacity)
                buffer.inUse = false
            }
            return body(&buffer.line, buffer.callFieldKeys)
        }
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

    /// This thread's state, held by the thread's key.
    @inline(__always)
    private static func currentUnretained() -> Unmanaged<RenderBuffer> {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<RenderBuffer>.fromOpaque(pointer)
        }
        let buffer = Unmanaged.passRetained(RenderBuffer())
        pthread_setspecific(key, buffer.toOpaque())
        return buffer
    }
}
