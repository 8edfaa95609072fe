import DalstonBroker
import DalstonCore

/// A job's life: `pending` → `running` → `completed` | `failed` | `cancelled`.
package enum JobStatus: String, Sendable, Codable, CaseIterable {
    case pending, running, completed, failed, cancelled

    package var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// A task's life: `waiting` (for its dependencies) → `queued` → `running` → `completed` | `failed`.
package enum TaskStatus: String, Sendable, Codable {
    case waiting, queued, running, completed, failed, cancelled
    /// Failed, and to be queued again at `retry_at`.
    case retryPending = "retry_pending"
}

/// Names of the events on the bus (`EventEnvelope.type`).
package enum PipelineEvent {
    package static let jobCreated = "job_created"
    package static let taskStarted = "task_started"
    package static let taskCompleted = "task_completed"
    package static let taskFailed = "task_failed"
    package static let jobCompleted = "job_completed"
    package static let jobFailed = "job_failed"
    package static let jobCancelRequested = "job_cancel_requested"
    package static let jobCancelled = "job_cancelled"
    /// The broker gave up on a task (see `DeadLetterAnnouncement`): its job fails.
    package static let taskDeadLettered = DeadLetterAnnouncement.eventType
    /// Every event type (metrics label anything else as `other`).
    package static let all: Set<String> = [
        jobCreated, taskStarted, taskCompleted, taskFailed, taskDeadLettered, jobCompleted, jobFailed, jobCancelRequested, jobCancelled,
    ]
}

/// The engine types of the batch pipeline.
package enum EngineKind {
    package static let audioPrepare = "audio-prepare"
    /// PocketSphinx, Dalston's first recogniser: its queue kept the stage's name, which
    /// deployments and dashboards already use.
    package static let transcribe = "transcribe"
    /// Whisper-class models, run by a faster-whisper runner process the engine supervises.
    package static let whisper = "faster-whisper"
    package static let merge = "merge"
    /// Who spoke when: VAD, d-vector speaker embeddings and clustering in a runner process.
    package static let diarize = "diarize"
    package static let all = [audioPrepare, transcribe, whisper, diarize, merge]
}

/// Field names of the job record (`StateKey.job(id)`); `JobRecord` reads and writes them.
package enum JobField {
    package static let id = "id"
    package static let status = "status"
    package static let requestID = "request_id"
    package static let createdAt = "created_at"
    package static let updatedAt = "updated_at"
    package static let completedAt = "completed_at"
    package static let language = "language"
    package static let modelID = "model_id"
    package static let timestampsGranularity = "timestamps_granularity"
    /// The engine that runs the job's transcribe stage, chosen from its model (absent: PocketSphinx's).
    package static let recognizer = "recognizer"
    /// The recogniser's options as a JSON object of strings: `task` (transcribe, translate),
    /// `prompt`, `hotwords`, `temperature`.
    package static let recognizerOptions = "recognizer_options"
    /// `ArtifactReference.key` of the uploaded audio.
    package static let audio = "audio"
    package static let audioBytes = "audio_bytes"
    package static let filename = "filename"
    /// A name for people (`display_name` on submission, changed with `PATCH`).
    package static let displayName = "display_name"
    /// Seconds of audio, from the upload's header (absent when unknown).
    package static let audioDurationSeconds = "audio_duration_seconds"
    /// Set as a finished job is deleted (the record goes right after).
    package static let deletedAt = "deleted_at"
    package static let currentStage = "current_stage"
    package static let progress = "progress"
    package static let error = "error"
    package static let errorType = "error_type"
    /// `ArtifactReference.key` of the transcript (`result.json`).
    package static let result = "result"
    package static let processingTimeSeconds = "processing_time_seconds"
    /// `true` once a cancel was asked for: the orchestrator (or its next sweep) carries it out,
    /// so a cancel accepted while no orchestrator runs is not lost.
    package static let cancelRequested = "cancel_requested"
    /// Bumped by every change the orchestrator makes: its transitions apply only to the record
    /// they were decided on (another orchestrator, or a missed event, moves it on otherwise).
    package static let revision = "revision"
    /// Where to POST the job's end (`webhook_url` on submission), signed with
    /// `DALSTON_WEBHOOK_SECRET`.
    package static let webhookURL = "webhook_url"
    /// The client's JSON object, echoed in the webhook's `data.webhook_metadata`.
    package static let webhookMetadata = "webhook_metadata"
    /// Days to keep the job once it ends (`retention`; `0`: delete the audio as soon as it is
    /// transcribed and the job at the next purge). Absent: the deployment's default.
    package static let retentionDays = "retention_days"
    /// `diarize` or `per_channel` when the job asked for speakers (`speaker_detection`, see
    /// `SpeakerDetection`); absent: none.
    package static let speakerDetection = "speaker_detection"
    /// Speakers to recognise by their voice, a JSON list of `{"name", "audio"}` (a reference
    /// clip stored with the job): the diarizer names the speakers that match.
    package static let knownSpeakers = "known_speakers"
    /// How many channels the upload has, as the gateway read them from its header (set for
    /// per-channel jobs, whose graph has a transcription per channel).
    package static let audioChannels = "audio_channels"
    /// How a per-channel transcript is returned where a dialect offers a choice: `separate`
    /// (ElevenLabs' `transcripts[]`, its default) or `combined` (one transcript in time order).
    package static let channelOutput = "channel_output"
    /// The speaker counts asked for, a JSON object of `num_speakers`, `min_speakers`, `max_speakers`.
    package static let speakerCounts = "speaker_counts"
    /// The tenant of the key that submitted the job: only that tenant's keys see it. Absent:
    /// `JobTenancy.defaultTenant` (jobs of keyless gateways and of the environment's keys).
    package static let tenantID = "tenant_id"
    /// The id of the API key that submitted the job (never the key): its concurrent-job limit
    /// counts the job while it runs.
    package static let ownerKeyID = "key_id"
    /// W3C trace context of the request that created the job.
    package static let traceparent = "traceparent"
    package static let tracestate = "tracestate"

    /// A field of one task's state inside the job record: `task.<stage>.<name>`. The orchestrator
    /// alone writes these; engines report outcomes in their events.
    package static func task(_ stage: String, _ name: TaskFieldName) -> String { "task.\(stage).\(name.rawValue)" }
}

/// Fields of a task's state (see `JobField.task`). What the task's engine reported (its output
/// or error) is not copied here: it lives once, in `report`.
package enum TaskFieldName: String, Sendable, CaseIterable {
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
package enum PipelineIndex {
    /// Every job by creation time (for listing).
    package static let jobs = "jobs"
    /// Jobs not yet final (the orchestrator sweeps these after a restart).
    package static let activeJobs = "active_jobs"

    /// The jobs of one API key not yet final: what its concurrent-job limit counts.
    package static func activeJobs(ofKey keyID: String) -> String { "active_jobs:key:\(keyID)" }
}

/// Tenants: every key belongs to one, and a job to its submitter's.
package enum JobTenancy {
    /// See `Tenancy.defaultTenant`.
    package static let defaultTenant = Tenancy.defaultTenant
}

/// What `speaker_detection` asks for.
package enum SpeakerDetection {
    /// Who spoke when, found by the diarize stage in one mixed channel.
    package static let diarize = "diarize"
    /// One speaker per channel: each channel transcribed on its own, then merged in time order.
    package static let perChannel = "per_channel"
    /// The most channels a per-channel job transcribes (each is a transcription task).
    package static let mostChannels = 8
}
