package import DalstonBroker
package import Foundation

/// How one attempt of a task ended, as its engine (or the broker) reported it.
package enum TaskOutcome: Sendable, Equatable {
    /// The engine's output: later stages find it in their input under this task's stage name.
    case succeeded(output: [String: JSONValue])
    /// The engine threw; `retryable` is false for a `PermanentEngineError` (bad input).
    case failed(TaskFailure)
    /// The broker gave up on the task (its workers kept dying or timing out): never retried.
    case deadLettered(reason: String)

    package var succeeded: Bool {
        if case .succeeded = self { return true }
        return false
    }
}

/// An engine's error, as the job shows it.
package struct TaskFailure: Sendable, Equatable {
    package var message: String
    package var retryable: Bool
    /// The Swift type of the error (for people reading the record; nothing decides on it).
    package var errorType: String?

    package init(message: String, retryable: Bool, errorType: String? = nil) {
        self.message = message
        self.retryable = retryable
        self.errorType = errorType
    }
}

/// The outcome of one attempt of one task, with what the orchestrator needs to apply it without
/// reading anything else. It travels as the data of a `task_completed`, `task_failed` or
/// `task_dead_lettered` event and is kept, once, in the job's record (`task.<stage>.report`),
/// where the orchestrator's sweep finds it when the event was missed (pub/sub is at most once).
///
/// This type is the only reader and writer of that wire form.
package struct TaskReport: Sendable, Equatable {
    package var stage: String
    package var attempt: Int
    package var outcome: TaskOutcome
    package var workerID: String?
    /// The engine's own measure of the work (queue wait excluded).
    package var durationSeconds: Double?
    /// When the engine (or broker) reported it.
    package var reportedAt: Date

    package init(
        stage: String, attempt: Int, outcome: TaskOutcome, workerID: String? = nil, durationSeconds: Double? = nil, reportedAt: Date = Date()
    ) {
        self.stage = stage
        self.attempt = attempt
        self.outcome = outcome
        self.workerID = workerID
        self.durationSeconds = durationSeconds
        self.reportedAt = reportedAt
    }

    /// The event type that carries this outcome.
    package var eventType: String {
        switch outcome {
        case .succeeded: PipelineEvent.taskCompleted
        case .failed: PipelineEvent.taskFailed
        case .deadLettered: PipelineEvent.taskDeadLettered
        }
    }

    /// Reads a report from its event; nil for another event type or one without a stage and
    /// attempt (a malformed or foreign message, which changes nothing).
    package init?(_ event: EventEnvelope) {
        guard let stage = event.data[Key.stage]?.stringValue, !stage.isEmpty,
              let attemptNumber = event.data[Key.attempt]?.numberValue, attemptNumber >= 1, attemptNumber <= 1_000_000 else { return nil }
        let outcome: TaskOutcome
        switch event.type {
        case PipelineEvent.taskCompleted:
            guard case .object(let output)? = event.data[Key.output] else { return nil }
            outcome = .succeeded(output: output)
        case PipelineEvent.taskFailed:
            outcome = .failed(TaskFailure(
                message: event.data[Key.error]?.stringValue ?? "unknown error", retryable: event.data[Key.retryable] != .bool(false),
                errorType: event.data[Key.errorType]?.stringValue))
        case PipelineEvent.taskDeadLettered:
            outcome = .deadLettered(reason: event.data[Key.error]?.stringValue ?? "the task was given up")
        default:
            return nil
        }
        self.init(
            stage: stage, attempt: Int(attemptNumber), outcome: outcome, workerID: event.data[Key.workerID]?.stringValue,
            durationSeconds: event.data[Key.durationSeconds]?.numberValue, reportedAt: event.emittedAt)
    }

    /// The event announcing this report about a task of a job, with the message's correlation.
    package func event(jobID: String, taskID: String, metadata: [String: String]) -> EventEnvelope {
        var data: [String: JSONValue] = [Key.stage: .string(stage), Key.attempt: .number(Double(attempt))]
        if let workerID { data[Key.workerID] = .string(workerID) }
        if let durationSeconds { data[Key.durationSeconds] = .number(durationSeconds) }
        switch outcome {
        case .succeeded(let output):
            data[Key.output] = .object(output)
        case .failed(let failure):
            data[Key.error] = .string(failure.message)
            data[Key.retryable] = .bool(failure.retryable)
            if let errorType = failure.errorType { data[Key.errorType] = .string(errorType) }
        case .deadLettered(let reason):
            data[Key.error] = .string(reason)
            data[Key.retryable] = .bool(false)
        }
        return EventEnvelope(type: eventType, jobID: jobID, taskID: taskID, data: data, metadata: metadata, emittedAt: reportedAt)
    }

    /// The event's data keys (the wire form the broker's dead-letter announcement shares).
    private enum Key {
        static let stage = "stage"
        static let attempt = "attempt"
        static let output = "output"
        static let error = "error"
        static let errorType = "error_type"
        static let retryable = "retryable"
        static let workerID = "worker_id"
        static let durationSeconds = "duration_seconds"
    }
}
