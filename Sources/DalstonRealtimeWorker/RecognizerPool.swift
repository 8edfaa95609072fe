import DalstonRealtime
import Dispatch
import Synchronization

/// One recogniser with the thread that runs it. Recognition blocks, so it never runs on Swift's
/// cooperative pool: each lane is a serial queue, and a session's work is ordered on its lane.
final class RecognizerLane: @unchecked Sendable {
    // Only touched on `queue`.
    private let recognizer: any StreamingRecognizer
    private var session: RealtimeSession?
    private let queue: DispatchQueue

    init(recognizer: any StreamingRecognizer, index: Int) {
        self.recognizer = recognizer
        queue = DispatchQueue(label: "dalston.realtime.lane\(index)")
    }

    /// Runs `body` with the lane's session on its queue.
    func run<Result: Sendable>(_ body: @escaping @Sendable (RealtimeSession) -> Result) async -> Result? {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.session.map(body))
            }
        }
    }

    /// Starts a session on this lane; its `session.begin` event.
    func open(_ settings: SessionSettings) async -> RealtimeEvent {
        await withCheckedContinuation { continuation in
            queue.async {
                let session = RealtimeSession(settings: settings, recognizer: self.recognizer)
                self.session = session
                continuation.resume(returning: session.begin)
            }
        }
    }

    /// Finishes the session if its client did not, and frees the lane.
    func close() async -> [RealtimeEvent] {
        await withCheckedContinuation { continuation in
            queue.async {
                let events = self.session?.finish() ?? []
                self.session = nil
                continuation.resume(returning: events)
            }
        }
    }
}

/// The worker's recognisers, one per session it can serve: taking a lane is how a session
/// gets admitted, so a worker never runs more sessions than it has recognisers.
final class RecognizerPool: Sendable {
    private let free: Mutex<[RecognizerLane]>
    let capacity: Int

    init(recognizers: [any StreamingRecognizer]) {
        capacity = recognizers.count
        free = Mutex(recognizers.enumerated().map { RecognizerLane(recognizer: $0.element, index: $0.offset) })
    }

    func take() -> RecognizerLane? {
        free.withLock { $0.popLast() }
    }

    func give(_ lane: RecognizerLane) {
        free.withLock { $0.append(lane) }
    }

    var inUse: Int { capacity - free.withLock { $0.count } }
}
