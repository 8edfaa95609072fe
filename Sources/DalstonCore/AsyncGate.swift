import Synchronization

/// One task at a time, in arrival order, without blocking a thread while waiting.
package final class AsyncGate: Sendable {
    package init() {}

    private struct State {
        var occupied = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    package func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let entered = state.withLock { state in
                if state.occupied {
                    state.waiting.append(continuation)
                    return false
                }
                state.occupied = true
                return true
            }
            if entered { continuation.resume() }
        }
    }

    package func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.occupied = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
