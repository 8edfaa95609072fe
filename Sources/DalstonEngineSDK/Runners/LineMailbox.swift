import Foundation
import Synchronization

/// Lines read from a pipe by a thread of their own (blocking reads stay off Swift's pool), handed
/// to one async reader in order; `nil` once the pipe has closed.
final class LineMailbox: Sendable {
    private struct State {
        var lines: [String] = []
        var finished = false
        var waiter: CheckedContinuation<String?, Never>?
    }

    private let state = Mutex(State())

    func push(_ line: String) {
        let waiter = state.withLock { state -> CheckedContinuation<String?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.lines.append(line)
            return nil
        }
        waiter?.resume(returning: line)
    }

    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<String?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next line; waits for one. One reader at a time.
    func next() async -> String? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> String?? in
                if !state.lines.isEmpty { return .some(state.lines.removeFirst()) }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if case .some(let line) = ready { continuation.resume(returning: line) }
        }
    }

    /// Reads `handle` line by line on a new thread until end of file, pushing each line (without
    /// its newline) to `sink`, then calls `end`.
    static func pump(_ handle: FileHandle, into sink: @escaping @Sendable (String) -> Void, end: @escaping @Sendable () -> Void) {
        let descriptor = handle.fileDescriptor
        let thread = Thread {
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                var start = 0
                for index in 0..<count where chunk[index] == UInt8(ascii: "\n") {
                    pending.append(contentsOf: chunk[start..<index])
                    sink(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                    start = index + 1
                }
                pending.append(contentsOf: chunk[start..<count])
            }
            if !pending.isEmpty { sink(String(decoding: pending, as: UTF8.self)) }
            end()
        }
        thread.name = "dalston.runner.pipe"
        thread.start()
    }
}
