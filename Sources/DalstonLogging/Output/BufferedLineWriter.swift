#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Lines gathered in memory and written by a thread of its own in large writes, so that a log
/// call costs a copy instead of a system call.
///
/// Nothing is lost on the way out: the buffer is written when it is half full, every
/// `flushInterval`, on `flush()` (the pipeline flushes after every warning and error) and when
/// the process exits (`exit`, returning from `main`, and
/// the graceful SIGTERM shutdown every Dalston service has). A process killed outright (SIGKILL,
/// a crash) loses at most the lines of the last interval.
///
/// When the destination does not keep up (a stalled pipe), the policy decides: `block` makes log
/// calls wait for room (no line is lost; the default), `drop` discards the lines that do not fit
/// while a write is stuck and counts them (`droppedLines`).
public final class BufferedLineWriter: LogLineWriter, @unchecked Sendable {
    public enum FullBufferPolicy: String, Sendable, CaseIterable {
        case block, drop
    }

    public let fileDescriptor: Int32
    public let capacity: Int
    public let flushInterval: Duration
    public let policy: FullBufferPolicy

    // Guarded by `mutex`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Wakes the flushing thread (half full, flush requested, closing).
    private let flushNeeded = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Wakes writers waiting for room and `flush()` waiting for a write to finish.
    private let roomMade = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var active: UnsafeMutableRawPointer
    private var activeCount = 0
    private var spare: UnsafeMutableRawPointer
    private var writing = false
    private var closing = false
    private var threadStarted = false
    private var thread = pthread_t()

    private let dropped = Atomic<UInt64>(0)
    private let failed = Atomic<UInt64>(0)

    /// - Parameters:
    ///   - capacity: bytes kept before writers wait (or drop); a longer line is written directly.
    ///   - flushInterval: the longest a line waits in memory.
    public init(fileDescriptor: Int32, capacity: Int = 64 * 1024, flushInterval: Duration = .milliseconds(50), policy: FullBufferPolicy = .block) {
        self.fileDescriptor = fileDescriptor
        self.capacity = max(capacity, 4096)
        self.flushInterval = flushInterval
        self.policy = policy
        active = .allocate(byteCount: self.capacity, alignment: 16)
        spare = .allocate(byteCount: self.capacity, alignment: 16)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(flushNeeded, &attributes)
        pthread_cond_init(roomMade, &attributes)
        pthread_condattr_destroy(&attributes)
        BufferedLineWriterRegistry.register(self)
    }

    deinit {
        close()
        pthread_cond_destroy(flushNeeded)
        pthread_cond_destroy(roomMade)
        pthread_mutex_destroy(mutex)
        flushNeeded.deallocate()
        roomMade.deallocate()
        mutex.deallocate()
        active.deallocate()
        spare.deallocate()
    }

    /// Lines discarded under the `drop` policy, or lost because the destination failed.
    public var droppedLines: UInt64 { dropped.load(ordering: .relaxed) + failed.load(ordering: .relaxed) }

    public func write(line: UnsafeRawBufferPointer) {
        guard let bytes = line.baseAddress, !line.isEmpty else { return }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        startThreadIfNeeded()
        if closing || line.count > capacity {
            // After close, or a line longer than the buffer: in order, from this thread.
            waitWhileWriting()
            writeOut(active, count: activeCount)
            activeCount = 0
            writeOut(UnsafeMutableRawPointer(mutating: bytes), count: line.count)
            return
        }
        while activeCount + line.count > capacity {
            if policy == .drop && writing {
                dropped.wrappingAdd(1, ordering: .relaxed)
                return
            }
            pthread_cond_signal(flushNeeded)
            pthread_cond_wait(roomMade, mutex)
        }
        (active + activeCount).copyMemory(from: bytes, byteCount: line.count)
        activeCount += line.count
        if activeCount >= capacity / 2 && !writing { pthread_cond_signal(flushNeeded) }
    }

    /// Writes everything buffered so far before returning.
    public func flush() {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        waitWhileWriting()
        writeOut(active, count: activeCount)
        activeCount = 0
    }

    /// Flushes and stops the flushing thread; later lines are written directly.
    public func close() {
        pthread_mutex_lock(mutex)
        let wasRunning = threadStarted && !closing
        closing = true
        pthread_cond_signal(flushNeeded)
        pthread_mutex_unlock(mutex)
        if wasRunning { pthread_join(thread, nil) }
        flush()
    }

    // MARK: - Under the lock

    private func waitWhileWriting() {
        while writing { pthread_cond_wait(roomMade, mutex) }
    }

    private func startThreadIfNeeded() {
        guard !threadStarted, !closing else { return }
        threadStarted = true
        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        let status = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            Unmanaged<BufferedLineWriter>.fromOpaque(argument).takeUnretainedValue().runFlushLoop()
            return nil
        }, unmanaged)
        if status != 0 { closing = true }  // no thread: every line is written directly
    }

    /// The flushing thread: swaps the buffers under the lock and writes the full one outside it,
    /// so log calls keep appending while a write is in progress.
    private func runFlushLoop() {
        pthread_mutex_lock(mutex)
        while true {
            if !closing && activeCount < capacity / 2 {
                // Until the interval is up, or a writer finds the buffer half full, or a close.
                var deadline = timespec()
                clock_gettime(CLOCK_MONOTONIC, &deadline)
                let (seconds, attoseconds) = flushInterval.components
                let nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
                deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
                deadline.tv_nsec = nanoseconds % 1_000_000_000
                pthread_cond_timedwait(flushNeeded, mutex, &deadline)
            }
            if activeCount > 0 {
                swap(&active, &spare)
                let count = activeCount
                activeCount = 0
                writing = true
                pthread_cond_broadcast(roomMade)
                pthread_mutex_unlock(mutex)
                writeOut(spare, count: count)
                pthread_mutex_lock(mutex)
                writing = false
                pthread_cond_broadcast(roomMade)
            }
            if closing { break }
        }
        pthread_mutex_unlock(mutex)
    }

    /// Writes all of it, retrying interrupted and partial writes; a destination that fails
    /// (closed pipe, full disk) loses the bytes, counted, and never crashes the process.
    private func writeOut(_ buffer: UnsafeMutableRawPointer, count: Int) {
        let written = writeAll(fileDescriptor, buffer, count)
        guard written < count else { return }
        // Count the lines lost with the rest of the buffer.
        let lost = UnsafeRawBufferPointer(start: buffer + written, count: count - written).reduce(0) { $1 == 10 ? $0 + 1 : $0 }
        failed.wrappingAdd(UInt64(max(lost, 1)), ordering: .relaxed)
    }
}

/// Every buffered writer is flushed when the process exits.
enum BufferedLineWriterRegistry {
    private final class WeakWriter: @unchecked Sendable {
        weak var writer: BufferedLineWriter?
        init(_ writer: BufferedLineWriter) { self.writer = writer }
    }

    private static let writers = Mutex<[WeakWriter]>([])
    private static let installExitHandler: Void = {
        atexit { BufferedLineWriterRegistry.flushAll() }
    }()

    static func register(_ writer: BufferedLineWriter) {
        _ = installExitHandler
        writers.withLock { writers in
            writers.removeAll { $0.writer == nil }
            writers.append(WeakWriter(writer))
        }
    }

    static func flushAll() {
        let live = writers.withLock { $0.compactMap(\.writer) }
        for writer in live { writer.flush() }
    }
}

