package import DalstonBroker
import DalstonCore
package import Foundation

/// Jobs and their tasks' states, typed, over a `StateStore`. Every change that matters for
/// correctness is one conditional transition, so that any number of orchestrators (and gateways)
/// can share a store: a task is enqueued exactly once, a job finishes exactly once.
///
/// With a `history` (the record database), a job is written there when it is created and when
/// it ends (before the state store's transition, so a database that is down stops the step and
/// the sweep retries it), and read from there once the state store no longer has it.
package struct JobStore: Sendable {
    package let state: any StateStore
    package let history: (any JobHistory)?

    package init(state: any StateStore, history: (any JobHistory)? = nil) {
        self.state = state
        self.history = history
    }

    /// Why a job that was running is failed when its live state is found gone.
    package static let stateLostError = "the job's live state was lost while it ran (Redis was flushed, or restarted without persistence); submit the audio again"

    /// Stores a new job, indexes it and announces it, in one atomic step. With a history the
    /// job is recorded there first; if the state store then fails, that record is removed again.
    package func create(_ job: JobRecord, announcing event: EventEnvelope) async throws {
        try await history?.save(job.fields)
        let score = job.createdAt.timeIntervalSince1970
        do {
            let result = try await state.transition(StateTransition(
                .job(job.id), when: [JobField.status: [""]], set: job.fields,
                effects: [.addToIndex(PipelineIndex.jobs, member: job.id, score: score)]
                    + job.activeIndexes.map { .addToIndex($0, member: job.id, score: score) } + [.publish(event)]))
            guard result.applied else { throw BrokerError.invalidMessage("job \(job.id) already exists") }
        } catch {
            _ = try? await history?.delete(job.id)
            throw error
        }
    }

    /// The live record, else the history's.
    package func job(_ id: String) async throws -> JobRecord? {
        if let live = JobRecord(fields: try await state.record(.job(id))) { return live }
        return try await history?.fields(of: id).flatMap(JobRecord.init(fields:))
    }

    /// The live record only (what the orchestrator and engines work on).
    package func liveJob(_ id: String) async throws(BrokerError) -> JobRecord? {
        JobRecord(fields: try await state.record(.job(id)))
    }

    /// The newest jobs first, at most `limit`, optionally only those created at or before `before`.
    package func recent(limit: Int, createdAtOrBefore before: Date? = nil) async throws(BrokerError) -> [JobRecord] {
        var jobs: [JobRecord] = []
        for id in try await state.indexMembers(PipelineIndex.jobs, limit: limit, maximumScore: before?.timeIntervalSince1970) {
            if let job = try await liveJob(id) { jobs.append(job) }
        }
        return jobs
    }

    package func activeJobIDs(limit: Int = 10_000) async throws(BrokerError) -> [String] {
        try await state.indexMembers(PipelineIndex.activeJobs, limit: limit)
    }

    /// Carries out a decision of `JobStateMachine` as one conditional transition: only if the
    /// record is still the one the decision was made on (its revision; no cancel asked for
    /// meanwhile, unless the decision is the cancel), the job's and its tasks' fields change,
    /// `tasks` go on their queues and, when the job ends, it leaves the active index and
    /// `announcing` is published. `false`: the record moved on; read it and decide again.
    ///
    /// With a history, a job that ends is written there first: if that fails nothing changes,
    /// and the next look finishes the job once the database is back.
    package func perform(
        _ decision: JobDecision, on base: JobRecord, enqueueing tasks: [TaskEnvelope], announcing event: EventEnvelope?
    ) async throws -> Bool {
        let now = Timestamp.now
        var fields = [JobField.updatedAt: now, JobField.revision: String(base.revision + 1)]
        let job = decision.job
        var cancels = false
        for step in decision.steps {
            switch step {
            case .record(let report):
                let state = job.tasks[report.stage]
                fields[JobField.task(report.stage, .status)] = state?.status.rawValue
                fields[JobField.task(report.stage, .completedAt)] = now
                if case .deadLettered = report.outcome {
                    // No engine deposited this one: the broker only announced it.
                    fields[JobField.task(report.stage, .report)] = String(decoding: try MessageCoding.encode(report.event(
                        jobID: job.id, taskID: "\(job.id)_\(report.stage)", metadata: job.correlation)), as: UTF8.self)
                }
            case .retryLater(let stage, _, let due):
                fields[JobField.task(stage, .status)] = TaskStatus.retryPending.rawValue
                fields[JobField.task(stage, .retryAt)] = Timestamp.string(due)
            case .enqueue(let task, let attempt):
                fields[JobField.task(task.stage, .status)] = TaskStatus.queued.rawValue
                fields[JobField.task(task.stage, .attempt)] = String(attempt)
                fields[JobField.task(task.stage, .queuedAt)] = now
                fields[JobField.status] = JobStatus.running.rawValue
                fields[JobField.currentStage] = task.stage
                fields[JobField.progress] = String(job.progress)
            case .complete(let result):
                fields[JobField.status] = JobStatus.completed.rawValue
                fields[JobField.progress] = "100"
                fields[JobField.currentStage] = ""
                fields[JobField.result] = result?.key ?? ""
                fields[JobField.processingTimeSeconds] = String(format: "%.3f", job.processingTimeSeconds ?? 0)
                fields[JobField.completedAt] = now
            case .fail(let failure):
                fields[JobField.status] = JobStatus.failed.rawValue
                fields[JobField.error] = failure.message
                fields[JobField.errorType] = failure.kind
                fields[JobField.currentStage] = failure.stage
                fields[JobField.completedAt] = now
            case .cancel:
                cancels = true
                fields[JobField.status] = JobStatus.cancelled.rawValue
                fields[JobField.completedAt] = now
            }
        }
        var conditions: [String: Set<String>] = [
            JobField.revision: base.revision == 0 ? ["", "0"] : [String(base.revision)],
            JobField.status: [JobStatus.pending.rawValue, JobStatus.running.rawValue],
        ]
        if !cancels { conditions[JobField.cancelRequested] = ["", "false"] }
        var effects = tasks.map(StateEffect.enqueue)
        if decision.finishes {
            effects += job.activeIndexes.map { .removeFromIndex($0, member: job.id) }
            if let event { effects.append(.publish(event)) }
            if let history {
                // The history first, from the live record (the engines' reports and earlier steps
                // included): if it cannot be written the job stays active, and the sweep finishes
                // it once the database is back.
                let live = try await state.record(.job(job.id))
                guard let current = JobRecord(fields: live), !current.status.isFinal else { return false }
                try await history.save(live.merging(fields) { _, new in new })
            }
        }
        let applied = try await state.transition(StateTransition(.job(job.id), when: conditions, set: fields, effects: effects)).applied
        if !applied, decision.finishes, let history {
            // The job moved on meanwhile (another orchestrator ended it differently, say): the
            // history keeps what the live record says.
            let live = try await state.record(.job(job.id))
            if !live.isEmpty { try await history.save(live) }
        }
        return applied
    }

    /// Drops a job that is final (or gone) from the active indexes.
    package func forgetActive(_ jobID: String) async throws(BrokerError) {
        if let ownerKeyID = JobRecord(fields: try await state.record(.job(jobID)))?.ownerKeyID {
            try await state.removeFromIndex(PipelineIndex.activeJobs(ofKey: ownerKeyID), member: jobID)
        }
        try await state.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
    }

    /// How many jobs of this key are in progress. Entries whose job is final or gone (its live
    /// state lost) are dropped on the way, so a lost job never holds a slot for good.
    package func activeJobCount(ofKey keyID: String, limit: Int = 10_000) async throws(BrokerError) -> Int {
        let index = PipelineIndex.activeJobs(ofKey: keyID)
        var count = 0
        for id in try await state.indexMembers(index, limit: limit) {
            if let job = try await liveJob(id), !job.status.isFinal {
                count += 1
            } else {
                try await state.removeFromIndex(index, member: id)
            }
        }
        return count
    }

    /// An engine's side of a task's end, in one atomic step: the delivery is acknowledged, the
    /// report is published as its event and kept in the job's record (the only place the
    /// outcome is stored; an orchestrator that missed the event finds it there on its next
    /// sweep). `false` when the delivery was no longer ours (redelivered after the visibility
    /// timeout): nothing is reported then.
    package func settle(_ received: ReceivedTask, reporting event: EventEnvelope) async throws(BrokerError) -> Bool {
        let report = String(decoding: try MessageCoding.encode(event), as: UTF8.self)
        return try await state.transition(StateTransition(
            .job(received.envelope.jobID),
            set: [JobField.task(received.envelope.stage, .report): report],
            effects: [.acknowledge(received), .publish(event)])).applied
    }

    /// Fails the jobs the history holds as still going but that the state store no longer has
    /// (created over `age` ago, so not one being created right now); returns their ids.
    package func failJobsWithLostState(olderThan age: Duration, limit: Int = 100) async throws -> [String] {
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
    package func requestCancel(_ jobID: String, announcing event: EventEnvelope) async throws(BrokerError) -> Bool {
        try await state.transition(StateTransition(
            .job(jobID),
            when: [JobField.status: [JobStatus.pending.rawValue, JobStatus.running.rawValue]],
            set: [JobField.cancelRequested: "true", JobField.updatedAt: Timestamp.now],
            effects: [.publish(event)])).applied
    }

    /// Sets a job's display name; `false` when there is no such job.
    package func rename(_ jobID: String, displayName: String) async throws -> Bool {
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
    package func delete(_ jobID: String) async throws -> Bool {
        let live = try await state.record(.job(jobID))
        let isLive = !live.isEmpty
        if isLive {
            let finals = Set(JobStatus.allCases.filter(\.isFinal).map(\.rawValue))
            let unlisted = try await state.transition(StateTransition(
                .job(jobID), when: [JobField.status: finals], set: [JobField.deletedAt: Timestamp.now],
                effects: [.removeFromIndex(PipelineIndex.jobs, member: jobID)]
                    + (JobRecord(fields: live)?.activeIndexes ?? [PipelineIndex.activeJobs]).map { .removeFromIndex($0, member: jobID) })).applied
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
    package func discard(_ jobID: String) async {
        try? await state.deleteRecord(.job(jobID))
        try? await state.removeFromIndex(PipelineIndex.jobs, member: jobID)
        try? await state.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
    }

}
