import DalstonRealtime
import Dispatch
import Synchronization

/// One session slot with the thread that runs its recognisers. Recognition blocks, so it never
/// runs on Swift's cooperative pool: each lane is a serial queue, and a session's work is
/// ordered on its lane. A lane keeps the recogniser of each model it has served (loading one
/// can take a moment) and gives it to its next session of that model.
final class RecognizerLane: @unchecked Sendable {
    // Only touched on `queue`.
    private var recognizers: [String: any StreamingRecognizer] = [:]
    private var session: RealtimeSession?
    private let queue: DispatchQueue
    private let models: LiveModels

    init(models: LiveModels, index: Int) {
        self.models = models
        queue = DispatchQueue(label: "dalston.realtime.lane\(index)")
    }

    /// Makes the recogniser of `model` now, so the lane's first session of it does not wait.
    func load(_ model: String) async throws {
        let outcome: Result<Void, any Error> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result { _ = try self.recognizer(for: model) })
            }
        }
        try outcome.get()
    }

    private func recognizer(for model: String) throws -> any StreamingRecognizer {
        if let recognizer = recognizers[model] { return recognizer }
        let recognizer = try models.make(model)
        recognizers[model] = recognizer
        return recognizer
    }

    /// Runs `body` with the lane's session on its queue.
    func run<Result: Sendable>(_ body: @escaping @Sendable (RealtimeSession) -> Result) async -> Result? {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.session.map(body))
            }
        }
    }

    /// Starts a session on this lane with the recogniser of `settings.model`; its
    /// `session.begin` event, or why the recogniser could not be made.
    func open(_ settings: SessionSettings, correlation: [String: String]) async throws -> RealtimeEvent {
        let outcome: Result<RealtimeEvent, any Error> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result {
                    let session = RealtimeSession(settings: settings, recognizer: try self.recognizer(for: settings.model), correlation: correlation)
                    // A `config` naming another model (OpenAI's session.update) switches here, on the lane.
                    session.switchModel = { requested in
                        let model = try self.models.resolve(requested)
                        return (model, try self.recognizer(for: model))
                    }
                    self.session = session
                    return session.begin
                })
            }
        }
        return try outcome.get()
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

/// The worker's session slots: taking a lane is how a session gets admitted, so a worker never
/// runs more sessions than its capacity.
final class RecognizerPool: Sendable {
    private let free: Mutex<[RecognizerLane]>
    let capacity: Int

    init(models: LiveModels, capacity: Int) {
        self.capacity = capacity
        free = Mutex((0..<capacity).map { RecognizerLane(models: models, index: $0) })
    }

    /// Every lane's recogniser of `model`, made before sessions come.
    func load(_ model: String) async throws {
        let lanes = free.withLock { $0 }
        for lane in lanes { try await lane.load(model) }
    }

    func take() -> RecognizerLane? {
        free.withLock { $0.popLast() }
    }

    func give(_ lane: RecognizerLane) {
        free.withLock { $0.append(lane) }
    }

    var inUse: Int { capacity - free.withLock { $0.count } }
}
