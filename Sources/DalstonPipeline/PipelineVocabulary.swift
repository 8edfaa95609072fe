import DalstonBroker

/// A job's life: `pending` → `running` → `completed` | `failed` | `cancelled`.
public enum JobStatus: String, Sendable, Codable, CaseIterable {
    case pending, running, completed, failed, cancelled

    public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// A task's life: `waiting` (for its dependencies) → `queued` → `running` → `completed` | `failed`.
public enum TaskStatus: String, Sendable, Codable {
    case waiting, queued, running, completed, failed, cancelled
    /// Failed, and to be queued again at `retry_at`.
    case retryPending = "retry_pending"
}

/// Names of the events on the bus (`EventEnvelope.type`).
public enum PipelineEvent {
    public static let jobCreated = "job_created"
    public static let taskStarted = "task_started"
    public static let taskCompleted = "task_completed"
    public static let taskFailed = "task_failed"
    public static let jobCompleted = "job_completed"
    public static let jobFailed = "job_failed"
    public static let jobCancelRequested = "job_cancel_requested"
    public static let jobCancelled = "job_cancelled"
    /// The broker gave up on a task (see `DeadLetterAnnouncement`): its job fails.
    public static let taskDeadLettered = DeadLetterAnnouncement.eventType
    /// Every event type (metrics label anything else as `other`).
    public static let all: Set<String> = [
        jobCreated, taskStarted, taskCompleted, taskFailed, taskDeadLettered, jobCompleted, jobFailed, jobCancelRequested, jobCancelled,
    ]
}

/// The engine types of the batch pipeline.
public enum EngineKind {
    public static let audioPrepare = "audio-prepare"
    public static let transcribe = "transcribe"
    public static let merge = "merge"
    public static let all = [audioPrepare, transcribe, merge]
}

/// Field names of the job record (`StateKey.job(id)`); `JobRecord` reads and writes them.
public enum JobField {
    public static let id = "id"
    public static let status = "status"
    public static let requestID = "request_id"
    public static let createdAt = "created_at"
    public static let updatedAt = "updated_at"
    public static let completedAt = "completed_at"
    public static let language = "language"
    public static let modelID = "model_id"
    public static let timestampsGranularity = "timestamps_granularity"
    /// `ArtifactReference.key` of the uploaded audio.
    public static let audio = "audio"
    public static let audioBytes = "audio_bytes"
    public static let filename = "filename"
    /// A name for people (`display_name` on submission, changed with `PATCH`).
    public static let displayName = "display_name"
    /// Seconds of audio, from the upload's header (absent when unknown).
    public static let audioDurationSeconds = "audio_duration_seconds"
    /// Set as a finished job is deleted (the record goes right after).
    public static let deletedAt = "deleted_at"
    public static let currentStage = "current_stage"
    public static let progress = "progress"
    public static let error = "error"
    public static let errorType = "error_type"
    /// `ArtifactReference.key` of the transcript (`result.json`).
    public static let result = "result"
    public static let processingTimeSeconds = "processing_time_seconds"
    /// `true` once a cancel was asked for: the orchestrator (or its next sweep) carries it out,
    /// so a cancel accepted while no orchestrator runs is not lost.
    public static let cancelRequested = "cancel_requested"
    /// Bumped by every change the orchestrator makes: its transitions apply only to the record
    /// they were decided on (another orchestrator, or a missed event, moves it on otherwise).
    public static let revision = "revision"
    /// Where to POST the job's end (`webhook_url` on submission), signed with
    /// `DALSTON_WEBHOOK_SECRET`.
    public static let webhookURL = "webhook_url"
    /// The client's JSON object, echoed in the webhook's `data.webhook_metadata`.
    public static let webhookMetadata = "webhook_metadata"
    /// Days to keep the job once it ends (`retention`; `0`: delete the audio as soon as it is
    /// transcribed and the job at the next purge). Absent: the deployment's default.
    public static let retentionDays = "retention_days"
    /// W3C trace context of the request that created the job.
    public static let traceparent = "traceparent"
    public static let tracestate = "tracestate"

    /// A field of one task's state inside the job record: `task.<stage>.<name>`. The orchestrator
    /// alone writes these; engines report outcomes in their events.
    public static func task(_ stage: String, _ name: TaskFieldName) -> String { "task.\(stage).\(name.rawValue)" }
}

/// Fields of a task's state (see `JobField.task`). What the task's engine reported (its output
/// or error) is not copied here: it lives once, in `report`.
public enum TaskFieldName: String, Sendable, CaseIterable {
    case status, attempt
    /// When a failed task may be tried again (status `retry_pending`).
    case retryAt = "retry_at"
    case queuedAt = "queued_at"
    case completedAt = "completed_at"
    /// The outcome of the task's latest attempt (`TaskReport`, as its event's JSON), deposited by
    /// the engine as it acknowledged the task (by the orchestrator for a dead-lettered one): what
    /// the task's output is read from, and what a sweep applies when its event was missed.
    case report
}

/// Index names in the broker.
public enum PipelineIndex {
    /// Every job by creation time (for listing).
    public static let jobs = "jobs"
    /// Jobs not yet final (the orchestrator sweeps these after a restart).
    public static let activeJobs = "active_jobs"
}
