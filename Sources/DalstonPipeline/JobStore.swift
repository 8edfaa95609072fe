import DalstonBroker
import DalstonCore
import Foundation

/// Jobs and their tasks' states, typed, over a `StateStore`. Every change that matters for
/// correctness is one conditional transition, so that any number of orchestrators (and gateways)
/// can share a store: a task is enqueued exactly once, a job finishes exactly once.
public struct JobStore: Sendable {
    public let state: any StateStore

    public init(state: any StateStore) {
        self.state = state
    }

    /// Statuses from which a task may be (re)scheduled.
    public enum Schedulable: Sendable {
        /// Never scheduled (first attempt).
        case new
        /// Failed earlier and due for another attempt.
        case retry
    }

    /// Stores a new job, indexes it and announces it, in one atomic step.
    public func create(_ job: JobRecord, announcing event: EventEnvelope) async throws(BrokerError) {
        let score = job.createdAt.timeIntervalSince1970
        let result = try await state.transition(StateTransition(
            .job(job.id), when: [JobField.status: [""]], set: job.fields,
            effects: [
                .addToIndex(PipelineIndex.jobs, member: job.id, score: score),
                .addToIndex(PipelineIndex.activeJobs, member: job.id, score: score),
                .publish(event),
            ]))
        guard result.applied else { throw .invalidMessage("job \(job.id) already exists") }
    }

    public func job(_ id: String) async throws(BrokerError) -> JobRecord? {
        JobRecord(fields: try await state.record(.job(id)))
    }

    /// The newest jobs first, at most `limit`, optionally only those created at or before `before`.
    public func recent(limit: Int, createdAtOrBefore before: Date? = nil) async throws(BrokerError) -> [JobRecord] {
        var jobs: [JobRecord] = []
        for id in try await state.indexMembers(PipelineIndex.jobs, limit: limit, maximumScore: before?.timeIntervalSince1970) {
            if let job = try await job(id) { jobs.append(job) }
        }
        return jobs
    }

    public func activeJobIDs(limit: Int = 10_000) async throws(BrokerError) -> [String] {
        try await state.indexMembers(PipelineIndex.activeJobs, limit: limit)
    }

    public func forgetActive(_ jobID: String) async throws(BrokerError) {
        try await state.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
    }

    /// Marks the task queued and puts it on its queue, if the job is still going and the task is
    /// still `from`; `false` when another orchestrator got there first or the job moved on.
    public func schedule(
        _ task: TaskEnvelope, of job: JobRecord, from: Schedulable, progress: Int
    ) async throws(BrokerError) -> Bool {
        let stage = task.stage
        let allowed: Set<String> = switch from {
        case .new: ["", TaskStatus.waiting.rawValue]
        case .retry: [TaskStatus.retryPending.rawValue]
        }
        let now = Timestamp.now
        return try await state.transition(StateTransition(
            .job(job.id),
            when: [
                JobField.status: [JobStatus.pending.rawValue, JobStatus.running.rawValue],
                JobField.task(stage, .status): allowed,
                JobField.cancelRequested: ["", "false"],
            ],
            set: [
                JobField.status: JobStatus.running.rawValue, JobField.currentStage: stage, JobField.progress: String(progress),
                JobField.updatedAt: now, JobField.task(stage, .status): TaskStatus.queued.rawValue,
                JobField.task(stage, .attempt): String(task.attempt), JobField.task(stage, .queuedAt): now,
            ],
            effects: [.enqueue(task)])).applied
    }

    /// An engine's side of a task's end, in one atomic step: the delivery is acknowledged, the
    /// outcome event is published and also deposited in the job's record (so an orchestrator
    /// that missed the event finds it on its next sweep). `false` when the delivery was no
    /// longer ours (redelivered after the visibility timeout): nothing is reported then.
    public func settle(_ received: ReceivedTask, reporting event: EventEnvelope) async throws(BrokerError) -> Bool {
        let report = String(decoding: try MessageCoding.encode(event), as: UTF8.self)
        return try await state.transition(StateTransition(
            .job(received.envelope.jobID),
            set: [JobField.task(received.envelope.stage, .report): report],
            effects: [.acknowledge(received), .publish(event)])).applied
    }

    /// What an engine reported about one attempt of a task.
    public enum TaskOutcome: Sendable {
        case completed(output: [String: JSONValue], workerID: String?)
        case failed(error: String, retryable: Bool, workerID: String?)
    }

    /// Records an engine's report, once: only while that attempt is the task's current, queued
    /// one (a duplicate or late report changes nothing). Returns whether it was recorded and the
    /// job as it is afterwards.
    public func record(
        _ outcome: TaskOutcome, jobID: String, stage: String, attempt: Int
    ) async throws(BrokerError) -> (applied: Bool, job: JobRecord?) {
        var fields = [JobField.updatedAt: Timestamp.now, JobField.task(stage, .completedAt): Timestamp.now]
        switch outcome {
        case .completed(let output, let workerID):
            fields[JobField.task(stage, .status)] = TaskStatus.completed.rawValue
            fields[JobField.task(stage, .output)] = Self.json(output)
            fields[JobField.task(stage, .workerID)] = workerID
        case .failed(let error, let retryable, let workerID):
            fields[JobField.task(stage, .status)] = TaskStatus.failed.rawValue
            fields[JobField.task(stage, .error)] = error
            fields[JobField.task(stage, .retryable)] = String(retryable)
            fields[JobField.task(stage, .workerID)] = workerID
        }
        let result = try await state.transition(StateTransition(
            .job(jobID),
            when: [
                JobField.task(stage, .status): [TaskStatus.queued.rawValue, TaskStatus.running.rawValue],
                JobField.task(stage, .attempt): [String(attempt)],
            ],
            set: fields, returnsRecord: true))
        return (result.applied, JobRecord(fields: result.record))
    }

    /// Moves a failed attempt to `retry_pending` (due at `retryAt`), once.
    public func markForRetry(jobID: String, stage: String, attempt: Int, at retryAt: Date) async throws(BrokerError) -> Bool {
        try await state.transition(StateTransition(
            .job(jobID),
            when: [JobField.task(stage, .status): [TaskStatus.failed.rawValue], JobField.task(stage, .attempt): [String(attempt)]],
            set: [JobField.task(stage, .status): TaskStatus.retryPending.rawValue, JobField.task(stage, .retryAt): Timestamp.string(retryAt)]
        )).applied
    }

    /// Ends a job that is still going with `status`, drops it from the active index and
    /// announces it, once.
    public func finish(_ job: JobRecord, as status: JobStatus, fields extra: [String: String], announcing event: EventEnvelope) async throws(BrokerError) -> Bool {
        var fields = extra
        fields[JobField.status] = status.rawValue
        fields[JobField.completedAt] = Timestamp.now
        fields[JobField.updatedAt] = Timestamp.now
        return try await state.transition(StateTransition(
            .job(job.id),
            when: [JobField.status: [JobStatus.pending.rawValue, JobStatus.running.rawValue]],
            set: fields,
            effects: [.removeFromIndex(PipelineIndex.activeJobs, member: job.id), .publish(event)])).applied
    }

    /// Notes a cancel request on a job that is still going and announces it; the orchestrator
    /// carries it out (at once on the event, or on its next sweep). `false` when the job is final.
    public func requestCancel(_ jobID: String, announcing event: EventEnvelope) async throws(BrokerError) -> Bool {
        try await state.transition(StateTransition(
            .job(jobID),
            when: [JobField.status: [JobStatus.pending.rawValue, JobStatus.running.rawValue]],
            set: [JobField.cancelRequested: "true", JobField.updatedAt: Timestamp.now],
            effects: [.publish(event)])).applied
    }

    /// Sets a job's display name; `false` when there is no such job.
    public func rename(_ jobID: String, displayName: String) async throws(BrokerError) -> Bool {
        try await state.transition(StateTransition(
            .job(jobID), when: [JobField.status: Set(JobStatus.allCases.map(\.rawValue))],
            set: [JobField.displayName: displayName, JobField.updatedAt: Timestamp.now])).applied
    }

    /// Removes a finished job from the listing and deletes its record; `false` when it is not
    /// (or no longer) final. A job still going must be cancelled first.
    public func delete(_ jobID: String) async throws(BrokerError) -> Bool {
        let finals = Set(JobStatus.allCases.filter(\.isFinal).map(\.rawValue))
        let unlisted = try await state.transition(StateTransition(
            .job(jobID), when: [JobField.status: finals], set: [JobField.deletedAt: Timestamp.now],
            effects: [.removeFromIndex(PipelineIndex.jobs, member: jobID), .removeFromIndex(PipelineIndex.activeJobs, member: jobID)])).applied
        guard unlisted else { return false }
        try await state.deleteRecord(.job(jobID))
        return true
    }

    /// Removes a job whose creation failed part-way (nothing else refers to it yet).
    public func discard(_ jobID: String) async {
        try? await state.deleteRecord(.job(jobID))
        try? await state.removeFromIndex(PipelineIndex.jobs, member: jobID)
        try? await state.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
    }

    static func json(_ object: [String: JSONValue]) -> String {
        (try? MessageCoding.encode(JSONValue.object(object))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
