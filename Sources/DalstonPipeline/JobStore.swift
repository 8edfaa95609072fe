import DalstonBroker
import DalstonCore
import Foundation

/// Jobs and their tasks' states, typed, over a `StateStore`. Every change that matters for
/// correctness is one conditional transition, so that any number of orchestrators (and gateways)
/// can share a store: a task is enqueued exactly once, a job finishes exactly once.
///
/// With a `history` (the record database), a job is written there when it is created and when
/// it ends (before the state store's transition, so a database that is down stops the step and
/// the sweep retries it), and read from there once the state store no longer has it.
public struct JobStore: Sendable {
    public let state: any StateStore
    public let history: (any JobHistory)?

    public init(state: any StateStore, history: (any JobHistory)? = nil) {
        self.state = state
        self.history = history
    }

    /// Why a job that was running is failed when its live state is found gone.
    public static let stateLostError = "the job's live state was lost while it ran (Redis was flushed, or restarted without persistence); submit the audio again"

    /// Statuses from which a task may be (re)scheduled.
    public enum Schedulable: Sendable {
        /// Never scheduled (first attempt).
        case new
        /// Failed earlier and due for another attempt.
        case retry
    }

    /// Stores a new job, indexes it and announces it, in one atomic step. With a history the
    /// job is recorded there first; if the state store then fails, that record is removed again.
    public func create(_ job: JobRecord, announcing event: EventEnvelope) async throws {
        try await history?.save(job.fields)
        let score = job.createdAt.timeIntervalSince1970
        do {
            let result = try await state.transition(StateTransition(
                .job(job.id), when: [JobField.status: [""]], set: job.fields,
                effects: [
                    .addToIndex(PipelineIndex.jobs, member: job.id, score: score),
                    .addToIndex(PipelineIndex.activeJobs, member: job.id, score: score),
                    .publish(event),
                ]))
            guard result.applied else { throw BrokerError.invalidMessage("job \(job.id) already exists") }
        } catch {
            _ = try? await history?.delete(job.id)
            throw error
        }
    }

    /// The live record, else the history's.
    public func job(_ id: String) async throws -> JobRecord? {
        if let live = JobRecord(fields: try await state.record(.job(id))) { return live }
        return try await history?.fields(of: id).flatMap(JobRecord.init(fields:))
    }

    /// The live record only (what the orchestrator and engines work on).
    public func liveJob(_ id: String) async throws(BrokerError) -> JobRecord? {
        JobRecord(fields: try await state.record(.job(id)))
    }

    /// The newest jobs first, at most `limit`, optionally only those created at or before `before`.
    public func recent(limit: Int, createdAtOrBefore before: Date? = nil) async throws(BrokerError) -> [JobRecord] {
        var jobs: [JobRecord] = []
        for id in try await state.indexMembers(PipelineIndex.jobs, limit: limit, maximumScore: before?.timeIntervalSince1970) {
            if let job = try await liveJob(id) { jobs.append(job) }
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
    public func finish(_ job: JobRecord, as status: JobStatus, fields extra: [String: String], announcing event: EventEnvelope) async throws -> Bool {
        var fields = extra
        fields[JobField.status] = status.rawValue
        fields[JobField.completedAt] = Timestamp.now
        fields[JobField.updatedAt] = Timestamp.now
        if let history {
            // The history first: if it cannot be written the job stays active, and the sweep
            // finishes it once the database is back.
            let live = try await state.record(.job(job.id))
            guard let current = JobRecord(fields: live), !current.status.isFinal else { return false }
            try await history.save(live.merging(fields) { _, new in new })
        }
        let finished = try await state.transition(StateTransition(
            .job(job.id),
            when: [JobField.status: [JobStatus.pending.rawValue, JobStatus.running.rawValue]],
            set: fields,
            effects: [.removeFromIndex(PipelineIndex.activeJobs, member: job.id), .publish(event)])).applied
        if !finished, let history {
            // Another orchestrator ended it differently meanwhile: the history keeps what happened.
            let live = try await state.record(.job(job.id))
            if !live.isEmpty { try await history.save(live) }
        }
        return finished
    }

    /// Fails the jobs the history holds as still going but that the state store no longer has
    /// (created over `age` ago, so not one being created right now); returns their ids.
    public func failJobsWithLostState(olderThan age: Duration, limit: Int = 100) async throws -> [String] {
        guard let history else { return [] }
        var failed: [String] = []
        for var fields in try await history.unfinished(createdBefore: Date().addingTimeInterval(-age.seconds), limit: limit) {
            guard let id = fields[JobField.id], try await state.record(.job(id)).isEmpty else { continue }
            let now = Timestamp.now
            fields[JobField.status] = JobStatus.failed.rawValue
            fields[JobField.error] = Self.stateLostError
            fields[JobField.errorType] = "state_lost"
            fields[JobField.completedAt] = now
            fields[JobField.updatedAt] = now
            try await history.save(fields)
            failed.append(id)
        }
        return failed
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
    public func rename(_ jobID: String, displayName: String) async throws -> Bool {
        let change = [JobField.displayName: displayName, JobField.updatedAt: Timestamp.now]
        let renamed = try await state.transition(StateTransition(
            .job(jobID), when: [JobField.status: Set(JobStatus.allCases.map(\.rawValue))], set: change)).applied
        guard let history else { return renamed }
        if renamed {
            try await history.save(try await state.record(.job(jobID)))
            return true
        }
        guard let stored = try await history.fields(of: jobID) else { return false }
        try await history.save(stored.merging(change) { _, new in new })
        return true
    }

    /// Removes a finished job from the listing and deletes its record; `false` when it is not
    /// (or no longer) final. A job still going must be cancelled first.
    public func delete(_ jobID: String) async throws -> Bool {
        let isLive = !(try await state.record(.job(jobID))).isEmpty
        if isLive {
            let finals = Set(JobStatus.allCases.filter(\.isFinal).map(\.rawValue))
            let unlisted = try await state.transition(StateTransition(
                .job(jobID), when: [JobField.status: finals], set: [JobField.deletedAt: Timestamp.now],
                effects: [.removeFromIndex(PipelineIndex.jobs, member: jobID), .removeFromIndex(PipelineIndex.activeJobs, member: jobID)])).applied
            guard unlisted else { return false }
            try await state.deleteRecord(.job(jobID))
        }
        guard let history else { return isLive }
        if !isLive {
            // Only in the history (the state store forgot it): deleted there if it is final.
            guard let stored = try await history.fields(of: jobID).flatMap(JobRecord.init(fields:)), stored.status.isFinal else { return false }
        }
        return try await history.delete(jobID) || isLive
    }

    /// Removes a job whose creation failed part-way (nothing else refers to it yet). The
    /// history needs nothing: `create` leaves no record there when it fails.
    public func discard(_ jobID: String) async {
        try? await state.deleteRecord(.job(jobID))
        try? await state.removeFromIndex(PipelineIndex.jobs, member: jobID)
        try? await state.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
    }

    static func json(_ object: [String: JSONValue]) -> String {
        (try? MessageCoding.encode(JSONValue.object(object))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
