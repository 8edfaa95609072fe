import Synchronization

/// Jobs this worker has heard were cancelled (the most recent ones), and the work in hand to
/// stop when its job is one of them.
final class CancelledJobs: Sendable {
    private struct State {
        var jobs: Set<String> = []
        var order: [String] = []
    }

    /// How many cancelled jobs are remembered (enough to cover every queue's backlog).
    static let capacity = 10_000
    private let state = Mutex(State())
    private let cancelWork = Mutex<[String: @Sendable () -> Void]>([:])

    func insert(_ jobID: String) {
        let isNew = state.withLock { state -> Bool in
            guard state.jobs.insert(jobID).inserted else { return false }
            state.order.append(jobID)
            if state.order.count > Self.capacity { state.jobs.remove(state.order.removeFirst()) }
            return true
        }
        if isNew, let cancel = cancelWork.withLock({ $0[jobID] }) { cancel() }
    }

    func contains(_ jobID: String) -> Bool {
        state.withLock { $0.jobs.contains(jobID) }
    }

    /// Cancels `work` if its job is (or becomes) cancelled while it runs.
    func watch<Success: Sendable>(_ jobID: String, work: Task<Success, any Error>) {
        cancelWork.withLock { $0[jobID] = { work.cancel() } }
        if contains(jobID) { work.cancel() }
    }

    func unwatch(_ jobID: String) {
        cancelWork.withLock { _ = $0.removeValue(forKey: jobID) }
    }
}
