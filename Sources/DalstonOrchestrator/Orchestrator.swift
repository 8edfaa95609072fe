import DalstonBroker
import DalstonCore
import DalstonLogging
import DalstonMetrics
import DalstonPipeline
import DalstonPropagation
import Foundation
import Logging
import Tracing

public struct OrchestratorOptions: Sendable {
    /// Attempts per task (the first one included) before the job fails.
    public var maximumAttempts = 3
    /// Delay before retry n is `retryBackoff * 2^(n-1)`.
    public var retryBackoff: Duration = .seconds(1)
    /// How often active jobs are checked against their records, which recovers from missed
    /// events, from the orchestrator's own restarts and from other orchestrators dying.
    public var sweepInterval: Duration = .seconds(3)
    /// How old a job the record database holds as going must be before its missing live state
    /// counts as lost (younger ones may be being created right now).
    public var lostStateGrace: Duration = .seconds(60)
    /// How old an engine's deposited outcome must be before a sweep takes it as missed and
    /// applies it (the event normally arrives within milliseconds). Outcomes from before this
    /// orchestrator was listening are applied at once.
    public var missedEventGrace: Duration = .seconds(5)
    /// A job whose record has not changed for this long fails ("no progress"): the last resort
    /// when a task is lost for good (its dead-letter announcement missed, say). `nil`: never.
    public var stallTimeout: Duration? = .seconds(21_600)
    /// Keep a finished job's audio and intermediate files (`DALSTON_KEEP_AUDIO`, for debugging).
    /// By default only the transcript stays: uploads would otherwise fill the disk.
    public var keepWorkingFiles = false

    public init() {}
}

/// Turns jobs into tasks and moves them along as engines report outcomes.
///
/// It alone writes task state, in the job's record. Every change is a conditional transition of
/// that record (see `JobStore`), so any number of orchestrators may run on one store: each event
/// reaches all of them, and of the ones that try the same step exactly one succeeds. A killed
/// orchestrator loses nothing; the others (or its own restart, through the sweep) carry on.
public actor Orchestrator {
    private let jobs: JobStore
    private let events: any EventBus
    /// Where a finished job's working files are removed from (none given: nothing is removed).
    private let artifacts: (any ArtifactStore)?
    private let options: OrchestratorOptions
    private let logger: Logger
    private let metrics: Instruments
    /// Jobs being advanced right now, and those asked for again meanwhile (see `advance`).
    private var advancing: Set<String> = []
    private var advanceAgain: Set<String> = []
    /// Since when this orchestrator hears events: outcomes deposited earlier were missed.
    private var listeningSince = Date.distantFuture
    /// One retry timer per job at most, kept so that stopping the orchestrator leaves none behind.
    private var retryTimers: [String: Task<Void, Never>] = [:]

    public init(
        state: any StateStore, events: any EventBus, artifacts: (any ArtifactStore)? = nil, history: (any JobHistory)? = nil,
        options: OrchestratorOptions = OrchestratorOptions(), metrics: Instruments = .disabled, logger: Logger = Logger(label: "dalston.orchestrator")
    ) {
        self.artifacts = artifacts
        self.jobs = JobStore(state: state, history: history)
        self.events = events
        self.metrics = metrics
        metrics.startAtZero(DalstonMetric.jobsFinished, [JobStatus.completed, .failed, .cancelled].map { [("status", $0.rawValue)] })
        metrics.startAtZero(DalstonMetric.taskRetries, EngineKind.all.map { [("engine_id", $0)] })
        metrics.startAtZero(DalstonMetric.tasksCompleted, EngineKind.all.flatMap { engine in
            ["completed", "failed"].map { [("engine_id", engine), ("status", $0)] }
        })
        self.options = options
        self.logger = logger
    }

    /// Runs until cancelled: handles events as they come and sweeps active jobs periodically.
    public func run() async {
        let stream = events.events()
        _ = await stream.waitUntilReady(timeout: .seconds(10))
        listeningSince = Date()
        logger.info("orchestrator_started")
        await sweep()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in stream {
                    await self.handle(event)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.options.sweepInterval)
                    if Task.isCancelled { break }
                    await self.sweep()
                }
            }
            await withTaskCancellationHandler {
                await group.next()
                group.cancelAll()
            } onCancel: {
                stream.cancel()
            }
        }
        for timer in retryTimers.values { timer.cancel() }
        retryTimers.removeAll()
        logger.info("orchestrator_stopped")
    }

    /// Handles one event (also callable directly, for tests).
    public func handle(_ event: EventEnvelope) async {
        let eventType = PipelineEvent.all.contains(event.type) ? event.type : "other"
        metrics.increment(DalstonMetric.eventsProcessed, [("event_type", eventType)])
        metrics.record(DalstonMetric.eventLag, [("event_type", eventType)], seconds: Date().timeIntervalSince(event.emittedAt))
        guard let jobID = event.jobID else { return }
        let spanName: String
        switch event.type {
        case PipelineEvent.jobCreated: spanName = "orchestrator.handle_job"
        case PipelineEvent.taskCompleted, PipelineEvent.taskFailed, PipelineEvent.taskDeadLettered: spanName = "orchestrator.handle_task_completed"
        case PipelineEvent.jobCancelRequested: spanName = "orchestrator.handle_cancel"
        default: return
        }
        var metadata = event.metadata
        metadata[MessageMetadataKey.jobID] = jobID
        // The pub/sub hop: continue the producer's trace (the gateway request, or the engine's task).
        await IncomingMessageContext.with(metadata, fields: ["event_type": "\(event.type)"], logger: logger) {
            await withTracedSpan(spanName, ofKind: .consumer) { span in
                span.attributes["messaging.operation.type"] = "process"
                span.attributes["messaging.destination.name"] = "events"
                span.attributes["dalston.event_type"] = event.type
                span.attributes["dalston.job_id"] = jobID
                span.attributes["dalston.request_id"] = event.metadata[MessageMetadataKey.requestID]
                span.attributes["dalston.task_id"] = event.taskID
                logger.debug("event_received", metadata: ["task_id": "\(event.taskID ?? "")"])
                switch event.type {
                case PipelineEvent.taskCompleted, PipelineEvent.taskFailed, PipelineEvent.taskDeadLettered:
                    let job = await recordOutcome(event, jobID: jobID)
                    await advance(jobID: jobID, known: job, readySince: event.emittedAt)
                default:
                    await advance(jobID: jobID, readySince: event.emittedAt)
                }
            }
        }
    }

    /// Records what the engine reported (once, whichever orchestrator gets there first) and
    /// returns the job as it is afterwards, so advancing it needs no other read.
    private func recordOutcome(_ event: EventEnvelope, jobID: String) async -> JobRecord? {
        guard let stage = event.data["stage"]?.stringValue, let attempt = event.data["attempt"]?.numberValue.map({ Int($0) }) else {
            logger.warning("event_incomplete", metadata: ["reason": "no stage or attempt in the event data"])
            return nil
        }
        let workerID = event.data["worker_id"]?.stringValue
        let outcome: JobStore.TaskOutcome
        if event.type == PipelineEvent.taskCompleted {
            guard case .object(let output)? = event.data["output"] else {
                logger.warning("event_incomplete", metadata: ["reason": "task_completed without an output object"])
                return nil
            }
            outcome = .completed(output: output, workerID: workerID)
        } else {
            outcome = .failed(error: event.data["error"]?.stringValue ?? "unknown error",
                              retryable: event.data["retryable"] != .bool(false), workerID: workerID)
        }
        do {
            let (applied, job) = try await jobs.record(outcome, jobID: jobID, stage: stage, attempt: attempt)
            if applied, let engineID = TaskGraph.plan(jobID: jobID).first(where: { $0.stage == stage })?.engineID {
                let status = event.type == PipelineEvent.taskCompleted ? "completed" : "failed"
                metrics.increment(DalstonMetric.tasksCompleted, [("engine_id", engineID), ("status", status)])
            }
            return job
        } catch {
            logger.error("task_outcome_not_recorded", metadata: ["error": .error(error)])
            return nil
        }
    }

    /// Brings every active job up to date with its record, and fails the jobs whose live state
    /// was lost (see `JobStore.failJobsWithLostState`).
    public func sweep() async {
        do {
            for jobID in try await jobs.failJobsWithLostState(olderThan: options.lostStateGrace) {
                metrics.increment(DalstonMetric.jobsFinished, [("status", JobStatus.failed.rawValue)])
                logger.error("job_state_lost", metadata: ["job_id": "\(jobID)", "error": "\(JobStore.stateLostError)"])
            }
        } catch {
            logger.warning("lost_state_check_failed", metadata: ["error": .error(error)])
        }
        let active: [String]
        do {
            active = try await jobs.activeJobIDs()
        } catch {
            logger.warning("sweep_failed", metadata: ["error": .error(error)])
            return
        }
        for jobID in active {
            guard let job = try? await jobs.liveJob(jobID) else {
                try? await jobs.forgetActive(jobID)
                continue
            }
            await advanceWithoutEvent(job)
        }
    }

    /// Advances a job on the orchestrator's own initiative (sweep, retry timer): with no event
    /// to continue, what it schedules joins the trace of the request that created the job.
    private func advanceWithoutEvent(_ job: JobRecord) async {
        await IncomingMessageContext.with(job.messageMetadata, requiresRequestID: false, logger: logger) {
            await advance(jobID: job.id, known: job)
        }
    }

    /// Looks at the job and does what is due: enqueue ready tasks, retry failed ones whose
    /// back-off has passed, complete, fail or cancel the job. `known` is the record when the
    /// caller already has it; `readySince` is when the triggering event happened (for the
    /// scheduling-latency metric; `nil` from a sweep).
    ///
    /// Within this process one job is advanced by one call at a time (the actor is re-entered at
    /// every `await`): a call that finds the job busy leaves a note, and the busy call looks
    /// again. Across processes the store's conditional transitions keep every step single.
    private func advance(jobID: String, known: JobRecord? = nil, readySince: Date? = nil) async {
        guard !advancing.contains(jobID) else {
            advanceAgain.insert(jobID)
            return
        }
        advancing.insert(jobID)
        defer { advancing.remove(jobID) }
        var record = known
        var trigger = readySince
        repeat {
            advanceAgain.remove(jobID)
            await advanceOnce(jobID: jobID, known: record, readySince: trigger)
            record = nil
            trigger = nil
        } while advanceAgain.contains(jobID)
    }

    private func advanceOnce(jobID: String, known: JobRecord?, readySince: Date?) async {
        do {
            var record = known
            if record == nil { record = try await jobs.liveJob(jobID) }
            guard let job = record else {
                logger.warning("job_record_missing")
                try await jobs.forgetActive(jobID)
                return
            }
            if job.status.isFinal {
                try await jobs.forgetActive(jobID)
                return
            }
            if job.cancelRequested {
                await cancel(job)
                return
            }
            // Outcomes the engines deposited whose events this orchestrator missed (pub/sub is at
            // most once): apply them now, then go on from the job as it is afterwards.
            let graceStart = Date().addingTimeInterval(-options.missedEventGrace.seconds)
            if let missed = job.tasks.values.compactMap({ state -> EventEnvelope? in
                guard [.queued, .running].contains(state.status), let report = state.report,
                      report.data["attempt"]?.numberValue.map({ Int($0) }) == state.attempt else { return nil }
                return report.emittedAt < listeningSince || report.emittedAt < graceStart ? report : nil
            }).first {
                logger.info("missed_outcome_applied", metadata: ["task_id": "\(missed.taskID ?? "")", "event_type": "\(missed.type)"])
                guard let updated = await recordOutcome(missed, jobID: jobID) else { return }
                await advanceOnce(jobID: jobID, known: updated, readySince: nil)
                return
            }
            let plan = TaskGraph.plan(jobID: jobID)
            if let stallTimeout = options.stallTimeout, Date().timeIntervalSince(job.updatedAt ?? job.createdAt) > stallTimeout.seconds {
                let stage = job.currentStage ?? plan.first?.stage ?? "prepare"
                let task = plan.first { $0.stage == stage } ?? plan[0]
                try await failJob(job, task: task, error: "no progress for \(Int(stallTimeout.seconds)) s at the \(stage) stage; the job was given up",
                                  attempts: job.tasks[stage]?.attempt ?? 0)
                return
            }
            if job.status == .pending {
                withSpan("orchestrator.build_dag") { span in
                    span.attributes["dalston.job_id"] = jobID
                    span.attributes["dalston.task_count"] = plan.count
                }
                logger.info("job_scheduled", metadata: ["task_count": .stringConvertible(plan.count)])
            }
            var statuses: [String: TaskStatus] = [:]
            for task in plan { statuses[task.taskID] = job.tasks[task.stage]?.status ?? .waiting }
            let progress = plan.filter { statuses[$0.taskID] == .completed }.count * 100 / max(1, plan.count)

            for task in plan {
                guard let state = job.tasks[task.stage], state.status == .failed else { continue }
                let error = state.error ?? "unknown error"
                if state.attempt < options.maximumAttempts && state.retryable {
                    let retryAt = Date().addingTimeInterval(options.retryBackoff.seconds * pow(2, Double(state.attempt - 1)))
                    if try await jobs.markForRetry(jobID: jobID, stage: task.stage, attempt: state.attempt, at: retryAt) {
                        logger.warning("task_retry_scheduled", metadata: [
                            "task_id": "\(task.taskID)", "attempt": .stringConvertible(state.attempt + 1), "error": "\(error)",
                            "retry_in_seconds": .stringConvertible(retryAt.timeIntervalSinceNow),
                        ])
                        metrics.increment(DalstonMetric.taskRetries, [("engine_id", task.engineID)])
                    }
                    scheduleRetry(jobID: jobID, at: retryAt)
                } else {
                    try await failJob(job, task: task, error: error, attempts: state.attempt)
                    return
                }
            }

            for task in plan {
                guard let state = job.tasks[task.stage], state.status == .retryPending,
                      let retryAt = state.retryAt else { continue }
                guard retryAt <= Date() else {
                    scheduleRetry(jobID: jobID, at: retryAt)
                    continue
                }
                try await enqueue(task, of: job, attempt: state.attempt + 1, from: .retry, progress: progress)
            }

            for task in TaskGraph.ready(plan, statuses: statuses) {
                if try await enqueue(task, of: job, attempt: 1, from: .new, progress: progress), let readySince {
                    metrics.record(DalstonMetric.schedulingLatency, seconds: Date().timeIntervalSince(readySince))
                }
            }

            if plan.allSatisfy({ statuses[$0.taskID] == .completed }) {
                try await completeJob(job, plan: plan)
            }
        } catch {
            logger.error("job_advance_failed", metadata: ["error": .error(error)])
        }
    }

    /// Enqueues one task, unless another orchestrator already did; returns whether this one did.
    @discardableResult
    private func enqueue(_ task: PlannedTask, of job: JobRecord, attempt: Int, from: JobStore.Schedulable, progress: Int) async throws -> Bool {
        var input: [String: JSONValue] = [
            "audio": .string(job.audio?.key ?? ""),
            "language": .string(job.language),
            "model_id": .string(job.modelID),
            "timestamps_granularity": .string(job.timestampsGranularity),
        ]
        // Outputs of every earlier stage, under the stage's name.
        for (stage, state) in job.tasks where stage != task.stage {
            if let output = state.output { input[stage] = .object(output) }
        }
        let scheduled = try await withTracedSpan("orchestrator.schedule_task", ofKind: .producer) { span in
            span.attributes["dalston.job_id"] = job.id
            span.attributes["dalston.task_id"] = task.taskID
            span.attributes["dalston.engine_id"] = task.engineID
            span.attributes["dalston.stage"] = task.stage
            span.attributes["dalston.task.attempt"] = attempt
            span.attributes["messaging.operation.type"] = "send"
            span.attributes["messaging.destination.name"] = task.engineID
            let envelope = TaskEnvelope(
                taskID: task.taskID, jobID: job.id, engineID: task.engineID, stage: task.stage, attempt: attempt, input: input,
                metadata: correlation(job, taskID: task.taskID))
            let scheduled = try await jobs.schedule(envelope, of: job, from: from, progress: progress)
            span.attributes["dalston.scheduled"] = scheduled
            return scheduled
        }
        guard scheduled else {
            logger.debug("task_already_scheduled", metadata: ["task_id": "\(task.taskID)", "attempt": .stringConvertible(attempt)])
            return false
        }
        metrics.increment(DalstonMetric.tasksScheduled, [("engine_id", task.engineID), ("stage", task.stage)])
        logger.info("task_scheduled", metadata: [
            "task_id": "\(task.taskID)", "engine_id": "\(task.engineID)", "stage": "\(task.stage)", "attempt": .stringConvertible(attempt),
        ])
        return true
    }

    private func completeJob(_ job: JobRecord, plan: [PlannedTask]) async throws {
        let result = plan.last.flatMap { job.tasks[$0.stage]?.output?["result"]?.stringValue }.flatMap(ArtifactReference.init(key:))
        let seconds = Date().timeIntervalSince(job.createdAt)
        let finished = try await withTracedSpan("orchestrator.mark_job_completed") { span in
            span.attributes["dalston.job_id"] = job.id
            span.attributes["dalston.processing_time_seconds"] = seconds
            return try await jobs.finish(
                job, as: .completed,
                fields: [
                    JobField.progress: "100", JobField.currentStage: "", JobField.result: result?.key ?? "",
                    JobField.processingTimeSeconds: String(format: "%.3f", seconds),
                ],
                announcing: EventEnvelope(type: PipelineEvent.jobCompleted, jobID: job.id, data: ["status": .string("completed")], metadata: correlation(job)))
        }
        guard finished else { return }
        removeWorkingFiles(job, keeping: result)
        countJobFinished(.completed, job: job)
        logger.info("job_completed", metadata: ["processing_time_seconds": .stringConvertible(seconds)])
    }

    private func failJob(_ job: JobRecord, task: PlannedTask, error: String, attempts: Int) async throws {
        let finished = try await withTracedSpan("orchestrator.mark_job_failed") { span in
            span.attributes["dalston.job_id"] = job.id
            span.attributes["dalston.task_id"] = task.taskID
            span.attributes["dalston.task.attempt"] = attempts
            span.setStatus(SpanStatus(code: .error, message: error))
            return try await jobs.finish(
                job, as: .failed,
                fields: [JobField.error: error, JobField.errorType: "\(task.stage)_failed", JobField.currentStage: task.stage],
                announcing: EventEnvelope(
                    type: PipelineEvent.jobFailed, jobID: job.id, data: ["status": .string("failed"), "error": .string(error)], metadata: correlation(job)))
        }
        guard finished else { return }
        removeWorkingFiles(job, keeping: nil)
        countJobFinished(.failed, job: job)
        logger.error("job_failed", metadata: ["task_id": "\(task.taskID)", "stage": "\(task.stage)", "error": "\(error)", "attempts": .stringConvertible(attempts)])
    }

    /// Ends a job whose cancel was asked for. Its queued tasks stay on their queues; engines
    /// skip them (they hear `job_cancelled`) and any late outcome no longer changes the job.
    private func cancel(_ job: JobRecord) async {
        do {
            let finished = try await jobs.finish(
                job, as: .cancelled, fields: [:],
                announcing: EventEnvelope(type: PipelineEvent.jobCancelled, jobID: job.id, data: ["status": .string("cancelled")], metadata: correlation(job)))
            guard finished else { return }
            removeWorkingFiles(job, keeping: nil)
            countJobFinished(.cancelled, job: job)
            logger.info("job_cancelled")
        } catch {
            logger.error("job_cancel_failed", metadata: ["error": .error(error)])
        }
    }

    /// Deletes a finished job's uploaded audio and intermediate files, keeping its transcript.
    /// Only the orchestrator that finished the job does this, once.
    private func removeWorkingFiles(_ job: JobRecord, keeping result: ArtifactReference?) {
        // `retention=0` asks for the audio to go once transcribed, whatever the deployment keeps.
        guard let artifacts, !options.keepWorkingFiles || job.retentionDays == 0 else { return }
        let removed = artifacts.removeAll(ofJob: job.id, except: Set([result].compactMap { $0 }))
        logger.info("job_files_removed", metadata: ["files": .stringConvertible(removed), "kept": "\(result?.key ?? "")"])
    }

    private func countJobFinished(_ status: JobStatus, job: JobRecord) {
        let labels = [("status", status.rawValue)]
        metrics.increment(DalstonMetric.jobsFinished, labels)
        metrics.record(DalstonMetric.jobDuration, labels, seconds: Date().timeIntervalSince(job.createdAt))
    }

    /// Looks at the job again when its retry is due (the sweep would too, later).
    private func scheduleRetry(jobID: String, at date: Date) {
        guard retryTimers[jobID] == nil else { return }
        let delay = max(0, date.timeIntervalSinceNow) + 0.01
        retryTimers[jobID] = Task {
            try? await Task.sleep(for: .seconds(delay))
            guard !Task.isCancelled else { return }
            await self.retryDue(jobID: jobID)
        }
    }

    private func retryDue(jobID: String) async {
        retryTimers[jobID] = nil
        guard let job = try? await jobs.liveJob(jobID) else { return }
        await advanceWithoutEvent(job)
    }

    /// The job's correlation fields and the current span's trace context, for a message.
    private func correlation(_ job: JobRecord, taskID: String? = nil) -> [String: String] {
        var metadata = job.correlation
        metadata[MessageMetadataKey.taskID] = taskID
        MessageTracing.inject(into: &metadata)
        return metadata
    }
}
