import Synchronization

/// How much of a session's audio may be in flight to its worker: the relay reserves each audio
/// message before sending it and waits while the window is full; the worker's progress
/// acknowledgements free it. Waiting is what stops the relay reading from its client.
final class AudioWindow: Sendable {
    private struct State {
        var sent = 0
        var acknowledged = 0
        var waiter: CheckedContinuation<Void, Never>?
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    var inFlight: Int { state.withLock { $0.sent - $0.acknowledged } }

    /// Takes room for `bytes`, waiting for acknowledgements while the window is full (a message
    /// larger than the window goes alone); false when no acknowledgement came within `patience`
    /// (the worker stalled).
    func reserve(_ bytes: Int, patience: Duration) async -> Bool {
        while true {
            let seen = state.withLock { state -> Int? in
                guard state.sent == state.acknowledged || state.sent - state.acknowledged + bytes <= limit else { return state.acknowledged }
                state.sent += bytes
                return nil
            }
            guard let seen else { return true }
            guard await acknowledgement(after: seen, within: patience) else { return false }
        }
    }

    /// The worker has decoded `total` bytes of the session's audio.
    func acknowledge(_ total: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.acknowledged = max(state.acknowledged, min(total, state.sent))
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Whether an acknowledgement past `seen` came (or the task was cancelled) before
    /// `patience` ran out.
    private func acknowledgement(after seen: Int, within patience: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state -> Bool in
                            // Acknowledged between the check and now, or cancelled: do not wait.
                            if Task.isCancelled || state.acknowledged != seen { return true }
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                    return true
                } onCancel: {
                    self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                        defer { state.waiter = nil }
                        return state.waiter
                    }?.resume()
                }
            }
            group.addTask {
                try? await Task.sleep(for: patience)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
