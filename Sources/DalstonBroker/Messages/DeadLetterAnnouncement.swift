/// What the broker publishes when it gives up on a task (it was delivered `maximumDeliveries`
/// times and each worker died or timed out, or a worker dead-lettered it), so that the job the
/// task belongs to can end instead of waiting for it forever. Undecodable messages have no job
/// to tell and are only dead-lettered.
public enum DeadLetterAnnouncement {
    /// The event type.
    public static let eventType = "task_dead_lettered"

    /// A `task_dead_lettered` event with the task's stage and attempt, the reason as `error`, and
    /// `retryable: false` (a task that kept killing its workers would kill the next ones too).
    public static func event(for task: TaskEnvelope, reason: String, deliveries: Int) -> EventEnvelope {
        var metadata = task.metadata
        metadata["job_id"] = task.jobID
        metadata["task_id"] = task.taskID
        return EventEnvelope(
            type: eventType, jobID: task.jobID, taskID: task.taskID,
            data: [
                "stage": .string(task.stage), "attempt": .number(Double(task.attempt)), "retryable": .bool(false),
                "error": .string("the \(task.stage) task was given up after \(deliveries) deliveries: \(reason)"),
                "deliveries": .number(Double(deliveries)),
            ],
            metadata: metadata)
    }
}
