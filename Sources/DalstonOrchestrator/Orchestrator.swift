package import DalstonBroker
import DalstonCore
import DalstonLogging
package import DalstonMetrics
package import DalstonPipeline
import DalstonPropagation
import Foundation
package import Logging
import ServiceLifecycle
import Tracing

package struct OrchestratorOptions: Sendable {
    /// Attempts per task (the first one included) before the job fails.
    package var maximumAttempts = 3
    /// Delay before retry n is `retryBackoff * 2^(n-1)`.
    package var retryBackoff: Duration = .seconds(1)
    /// How often active jobs are checked against their records, which recovers from missed
    /// events, from the orchestrator's own restarts and from other orchestrators dying.
    package var sweepInterval: Duration = .seconds(3)
    /// How old a job the record database holds as going must be before its missing live state
    /// counts as lost (younger ones may be being created right now).
    package var lostStateGrace: Duration = .seconds(60)
    /// How old an engine's deposited outcome must be before a sweep takes it as missed and
    /// applies it (the event normally arrives within milliseconds). Outcomes from before this
    /// orchestrator was listening are applied at once.
    package var missedEventGrace: Duration = .seconds(5)
    /// A job whose record has not changed for this long fails ("no progress"): the last resort
    /// when a task is lost for good (its dead-letter announcement missed, say). `nil`: never.
    package var stallTimeout: Duration? = .seconds(21_600)
    /// Keep a finished job's audio and intermediate files (`DALSTON_KEEP_AUDIO`, for debugging).
    /// By default only the transcript stays: uploads would otherwise fill the disk.
    package var keepWorkingFiles = false
    /// How long a task may wait for its engine when none is running (`DALSTON_ENGINE_WAIT_SECONDS`):
    /// zero fails the job as soon as its task would be queued, with an error naming the engine;
    /// nil waits for ever.
    package var engineWait: Duration? = .seconds(300)

    package init() {}

    /// The state machine's rules from these options.
    var policy: JobPolicy {
        var policy = JobPolicy()
        policy.maximumAttempts = maximumAttempts
        policy.retryBackoff = retryBackoff
        policy.stallTimeout = stallTimeout
        policy.missedEventGrace = missedEventGrace
        policy.engineWait = engineWait
        return policy
    }
}

/// Turns jobs into tasks and moves them along as engines report outcomes.
///
/// What to do is `JobStateMachine`'s decision; the orchestrator reads, performs and reports.
/// It alone writes task state, in the job's record. Every decision is carried out as one
/// conditional transition of that record, valid only for the revision it was decided on (see
/// `JobStore.perform`), so any number of orchestrators may run on one store: each event reaches
/// all of them, and of the ones that try the same step exactly one succeeds. A killed
/// orchestrator loses nothing; the others (or its own restart, through the sweep) carry on.
package actor Orchestrator: Service {
    private let jobs: JobStore
    private let events: any EventBus
    /// Whose heartbeats tell which engines are running (nil: never checked).
    private let workers: (any WorkerRegistry)?
    private let machine: JobStateMachine
    /// Where a finished job's working files are removed from (none given: nothing is removed).
    private let artifacts: (any ArtifactStore)?
    private let options: OrchestratorOptions
    private let logger: Logger
    private let metrics: Instruments
    /// Jobs being advanced right now, and the events about them that came meanwhile (see `advance`).
    private var advancing: Set<String> = []
    private var pending: [String: [JobEvent]] = [:]
    /// Each active job as this orchestrator last left it: the next event about it needs no
    /// read. A copy gone stale (another orchestrator moved the job) fails its transition's
    /// revision check and is read again; the sweep reads every job afresh.
    private var known: [String: JobRecord] = [:]
    /// Engines with a live worker at the last sweep (nil: unknown), and when that was read.
    private var liveEngines: Set<String>?
    private var liveEnginesReadAt = Date.distantPast
    /// Since when this orchestrator hears events: outcomes deposited earlier were missed.
    private var listeningSince = Date.distantFuture
    /// When each job wants another look without news (see `wakeUpLoop`).
    private var wakeUps: [String: Date] = [:]
    /// Bumped whenever an earlier wake-up is planned; the loop's waiter is resumed then.
    private var wakeUpGeneration = 0
    private var wakeUpWaiter: CheckedContinuation<Void, Never>?

    package init(
        state: any StateStore, events: any EventBus, artifacts: (any ArtifactStore)? = nil, history: (any JobHistory)? = nil,
        workers: (any WorkerRegistry)? = nil, options: OrchestratorOptions = OrchestratorOptions(), metrics: Instruments = .disabled, logger: Logger = Logger(label: "dalston.orchestrator")
    ) {
        self.artifacts = artifacts
        self.jobs = JobStore(state: state, history: history)
        self.events = events
        self.workers = workers
        self.machine = JobStateMachine(policy: options.policy)
        self.metrics = metrics
        metrics.startAtZero(DalstonMetric.jobsFinished, [JobStatus.completed, .failed, .cancelled].map { [("status", $0.rawValue)] })
        metrics.startAtZero(DalstonMetric.taskRetries, EngineKind.all.map { [("engine_id", $0)] })
        metrics.startAtZero(DalstonMetric.tasksCompleted, EngineKind.all.flatMap { engine in
            ["completed", "failed"].map { [("engine_id", engine), ("status", $0)] }
        })
        self.options = options
        self.logger = logger
    }

    /// Runs until cancelled or the service group shuts down gracefully: handles events as they
    /// come, sweeps active jobs periodically and looks at jobs when they asked to be, each in a
    /// child task.
    package func run() async {
        await cancelWhenGracefulShutdown { await self.runLoops() }
    }

    private func runLoops() async {
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
            group.addTask { await self.wakeUpLoop() }
            await withTaskCancellationHandler {
                await group.next()
                group.cancelAll()
            } onCancel: {
                stream.cancel()
            }
        }
        wakeUps.removeAll()
        logger.info("orchestrator_stopped")
    }

    /// Handles one event (also callable directly, for tests).
    package func handle(_ event: EventEnvelope) async {
        let eventType = PipelineEvent.all.contains(event.type) ? event.type : "other"
        metrics.increment(DalstonMetric.eventsProcessed, [("event_type", eventType)])
        metrics.record(DalstonMetric.eventLag, [("event_type", eventType)], seconds: Date().timeIntervalSince(event.emittedAt))
        guard let jobID = event.jobID else { return }
        let spanName: String
        let jobEvent: JobEvent
        switch event.type {
        case PipelineEvent.jobCreated:
            spanName = "orchestrator.handle_job"
            jobEvent = .created
        case PipelineEvent.taskCompleted, PipelineEvent.taskFailed, PipelineEvent.taskDeadLettered:
            spanName = "orchestrator.handle_task_completed"
            guard let report = TaskReport(event) else {
                logger.warning("event_incomplete", metadata: [
                    "job_id": "\(jobID)", "event_type": "\(event.type)", "reason": "no stage, attempt or output in the event data",
                ])
                return
            }
            jobEvent = .reported(report)
        case PipelineEvent.jobCancelRequested:
            spanName = "orchestrator.handle_cancel"
            jobEvent = .cancelRequested
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
                await advance(jobID: jobID, on: jobEvent, readySince: event.emittedAt)
            }
        }
    }

    /// Brings every active job up to date with its record, and fails the jobs whose live state
    /// was lost (see `JobStore.failJobsWithLostState`).
    package func sweep() async {
        await refreshLiveEngines()
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
        // The sweep reads every record afresh: what it finds is the truth, whatever was cached.
        known.removeAll(keepingCapacity: true)
        for jobID in active {
            guard let job = try? await jobs.liveJob(jobID) else {
                try? await jobs.forgetActive(jobID)
                continue
            }
            await advanceWithoutEvent(job)
        }
    }

    /// Which engines have a live worker, read at most once per sweep (the registry's
    /// heartbeats): nil until read, or when the registry cannot be read.
    private func refreshLiveEngines() async {
        guard let workers else { return }
        // Workers that start with this orchestrator (`dalston up`) may not have announced
        // themselves yet: until one heartbeat interval has passed, which engines run is unknown.
        guard Date().timeIntervalSince(listeningSince) >= Self.registrySettling.seconds else {
            liveEngines = nil
            return
        }
        do {
            liveEngines = Set(try await workers.liveWorkers().map(\.engineID))
            liveEnginesReadAt = Date()
        } catch {
            liveEngines = nil
            logger.warning("worker_registry_unreadable", metadata: ["error": .error(error)])
        }
    }

    /// Advances a job on the orchestrator's own initiative (sweep, retry timer): with no event
    /// to continue, what it schedules joins the trace of the request that created the job.
    private func advanceWithoutEvent(_ job: JobRecord) async {
        await IncomingMessageContext.with(job.messageMetadata, requiresRequestID: false, logger: logger) {
            known[job.id] = job
            await advance(jobID: job.id, on: .tick)
        }
    }

    /// Decides what the event means for the job and does it. `readySince` is when the event
    /// happened (for the scheduling-latency metric; nil without one).
    ///
    /// Within this process one job is advanced by one call at a time (the actor is re-entered at
    /// every `await`): a call that finds the job busy leaves a note, and the busy call looks
    /// again. Across processes the record's revision keeps every step single.
    private func advance(jobID: String, on event: JobEvent, readySince: Date? = nil) async {
        guard !advancing.contains(jobID) else {
            pending[jobID, default: []].append(event)
            return
        }
        advancing.insert(jobID)
        defer { advancing.remove(jobID) }
        var next: JobEvent? = event
        var trigger = readySince
        while let event = next {
            await advanceOnce(jobID: jobID, on: event, readySince: trigger)
            trigger = nil
            next = pending[jobID]?.isEmpty == false ? pending[jobID]?.removeFirst() : nil
            if pending[jobID]?.isEmpty == true { pending[jobID] = nil }
        }
    }

    /// One decision and its transition. When the record moved on meanwhile (another
    /// orchestrator, a cancel, a stale copy here), it is read again and the event decided anew.
    private func advanceOnce(jobID: String, on event: JobEvent, readySince: Date?) async {
        // A cancel is asked for in the record without a revision: a copy here cannot know of it.
        if event == .cancelRequested { known[jobID] = nil }
        for _ in 0..<Self.decisionAttempts {
            do {
                guard let job = try await current(jobID) else {
                    logger.warning("job_record_missing")
                    try await jobs.forgetActive(jobID)
                    return
                }
                let surroundings = JobSurroundings(now: Date(), listeningSince: listeningSince, liveEngines: liveEngines)
                let decision: JobDecision
                do {
                    let graph = try JobGraph.plan(for: job)
                    if job.status == .pending { recordGraphBuilt(graph) }
                    decision = machine.decide(job, on: event, graph: graph, surroundings: surroundings)
                } catch {
                    decision = machine.unplannable(job, error: error, now: surroundings.now)
                }
                if decision.isFinished {
                    known[jobID] = nil
                    try await jobs.forgetActive(jobID)
                    return
                }
                if decision.failsForWantOfAnEngine, Date().timeIntervalSince(liveEnginesReadAt) > Self.liveEnginesFreshness {
                    // Never fail a job on an old look at the registry (an engine may have just
                    // started): look again, then decide again.
                    await refreshLiveEngines()
                    continue
                }
                if let wakeUp = decision.wakeUpAt { scheduleWakeUp(jobID: jobID, at: wakeUp) }
                guard !decision.steps.isEmpty else { return }
                if try await perform(decision, on: job, readySince: readySince) {
                    if decision.finishes { cancelWakeUp(jobID) }
                    return
                }
                known[jobID] = nil
                logger.debug("job_moved_on", metadata: ["reason": "the record changed since it was read; deciding again"])
            } catch {
                known[jobID] = nil
                logger.error("job_advance_failed", metadata: ["error": .error(error)])
                return
            }
        }
    }

    /// How often one event is decided again when the record keeps moving under it.
    static let decisionAttempts = 5
    /// How recent the look at the worker registry must be for a job to fail for want of an
    /// engine (a worker's heartbeat comes every few seconds).
    static let liveEnginesFreshness: TimeInterval = 1
    /// How long after start before an engine without heartbeats counts as not running (a
    /// worker's heartbeat interval, so that every running worker has announced itself).
    static let registrySettling: Duration = .seconds(5)

    /// The job as this orchestrator last left it, else as stored.
    private func current(_ jobID: String) async throws -> JobRecord? {
        if let job = known[jobID] { return job }
        return try await jobs.liveJob(jobID)
    }

    private func recordGraphBuilt(_ graph: JobGraph) {
        withSpan("orchestrator.build_dag") { span in
            span.attributes["dalston.job_id"] = graph.jobID
            span.attributes["dalston.task_count"] = graph.tasks.count
        }
        logger.info("job_scheduled", metadata: ["task_count": .stringConvertible(graph.tasks.count)])
    }

    /// Carries out a decision: its tasks' envelopes (each sent from a `schedule_task` span), the
    /// final event, one transition; then the logs and metrics of what it did. `false` when the
    /// record had moved on and nothing was done.
    private func perform(_ decision: JobDecision, on base: JobRecord, readySince: Date?) async throws -> Bool {
        let job = decision.job
        var envelopes: [TaskEnvelope] = []
        var spans: [any Span] = []
        for case .enqueue(let task, let attempt) in decision.steps {
            let span = startSpan("orchestrator.schedule_task", ofKind: .producer)
            span.attributes["dalston.job_id"] = job.id
            span.attributes["dalston.task_id"] = task.taskID
            span.attributes["dalston.engine_id"] = task.engineID
            span.attributes["dalston.stage"] = task.stage
            span.attributes["dalston.task.attempt"] = attempt
            span.attributes["messaging.operation.type"] = "send"
            span.attributes["messaging.destination.name"] = task.engineID
            var metadata = job.correlation
            metadata[MessageMetadataKey.taskID] = task.taskID
            MessageTracing.inject(into: &metadata, context: span.context)
            envelopes.append(TaskEnvelope(
                taskID: task.taskID, jobID: job.id, engineID: task.engineID, stage: task.stage, attempt: attempt,
                input: input(of: task, in: job), metadata: metadata))
            spans.append(span)
        }
        var finalEvent: EventEnvelope?
        var finalSpan: (any Span)?
        for step in decision.steps {
            switch step {
            case .complete:
                let span = startSpan("orchestrator.mark_job_completed")
                span.attributes["dalston.processing_time_seconds"] = job.processingTimeSeconds ?? 0
                finalSpan = span
                finalEvent = EventEnvelope(type: PipelineEvent.jobCompleted, jobID: job.id, data: ["status": .string("completed")], metadata: correlation(job, span: span))
            case .fail(let failure):
                let span = startSpan("orchestrator.mark_job_failed")
                span.attributes["dalston.task_id"] = "\(job.id)_\(failure.stage)"
                span.attributes["dalston.task.attempt"] = failure.attempts
                span.setStatus(SpanStatus(code: .error, message: failure.message))
                finalSpan = span
                finalEvent = EventEnvelope(
                    type: PipelineEvent.jobFailed, jobID: job.id, data: ["status": .string("failed"), "error": .string(failure.message)],
                    metadata: correlation(job, span: span))
            case .cancel:
                finalEvent = EventEnvelope(type: PipelineEvent.jobCancelled, jobID: job.id, data: ["status": .string("cancelled")], metadata: correlation(job, span: nil))
            default:
                break
            }
        }
        finalSpan?.attributes["dalston.job_id"] = job.id
        let applied: Bool
        do {
            applied = try await jobs.perform(decision, on: base, enqueueing: envelopes, announcing: finalEvent)
        } catch {
            for span in spans + [finalSpan].compactMap({ $0 }) {
                span.recordError(error)
                span.end()
            }
            throw error
        }
        for span in spans {
            span.attributes["dalston.scheduled"] = applied
            span.end()
        }
        finalSpan?.end()
        guard applied else { return false }
        var updated = job
        updated.revision = base.revision + 1
        known[job.id] = decision.finishes ? nil : updated
        await report(decision, readySince: readySince)
        return true
    }

    /// Logs and measures what a decision that was carried out did.
    private func report(_ decision: JobDecision, readySince: Date?) async {
        let job = decision.job
        for report in decision.missedReports {
            logger.info("missed_outcome_applied", metadata: ["task_id": "\(job.id)_\(report.stage)", "event_type": "\(report.eventType)"])
        }
        for step in decision.steps {
            switch step {
            case .record(let report):
                if let engineID = PipelineStages.engine(of: report.stage, in: job) {
                    metrics.increment(DalstonMetric.tasksCompleted, [("engine_id", engineID), ("status", report.outcome.succeeded ? "completed" : "failed")])
                }
            case .retryLater(let stage, let attempt, let due):
                let failure = job.tasks[stage]?.failure
                logger.warning("task_retry_scheduled", metadata: [
                    "task_id": "\(job.id)_\(stage)", "attempt": .stringConvertible(attempt + 1), "error": "\(failure?.message ?? "unknown error")",
                    "retry_in_seconds": .stringConvertible(due.timeIntervalSinceNow),
                ])
                if let engineID = PipelineStages.engine(of: stage, in: job) {
                    metrics.increment(DalstonMetric.taskRetries, [("engine_id", engineID)])
                }
            case .enqueue(let task, let attempt):
                metrics.increment(DalstonMetric.tasksScheduled, [("engine_id", task.engineID), ("stage", task.stage)])
                if attempt == 1, let readySince {
                    metrics.record(DalstonMetric.schedulingLatency, seconds: Date().timeIntervalSince(readySince))
                }
                logger.info("task_scheduled", metadata: [
                    "task_id": "\(task.taskID)", "engine_id": "\(task.engineID)", "stage": "\(task.stage)", "attempt": .stringConvertible(attempt),
                ])
            case .complete(let result):
                await removeWorkingFiles(job, keeping: result)
                countJobFinished(.completed, job: job)
                logger.info("job_completed", metadata: ["processing_time_seconds": .stringConvertible(job.processingTimeSeconds ?? 0)])
            case .fail(let failure):
                await removeWorkingFiles(job, keeping: nil)
                countJobFinished(.failed, job: job)
                logger.error("job_failed", metadata: [
                    "task_id": "\(job.id)_\(failure.stage)", "stage": "\(failure.stage)", "error": "\(failure.message)",
                    "error_type": "\(failure.kind)", "attempts": .stringConvertible(failure.attempts),
                ])
            case .cancel:
                await removeWorkingFiles(job, keeping: nil)
                countJobFinished(.cancelled, job: job)
                logger.info("job_cancelled")
            }
        }
    }

    /// A task's input: the job's parameters, the outputs of the stages it reads under their
    /// names, and its row's parameters.
    private func input(of task: PlannedTask, in job: JobRecord) -> [String: JSONValue] {
        var input: [String: JSONValue] = [
            "audio": .string(job.audio?.key ?? ""),
            "language": .string(job.language),
            "model_id": .string(job.modelID),
            "timestamps_granularity": .string(job.timestampsGranularity),
        ]
        if !job.recognizerOptions.isEmpty {
            input["options"] = .object(job.recognizerOptions.mapValues { .string($0) })
        }
        if !job.speakerCounts.isEmpty {
            input["speaker_counts"] = .object(job.speakerCounts.mapValues { .number(Double($0)) })
        }
        if !job.knownSpeakers.isEmpty {
            input["known_speakers"] = .array(job.knownSpeakers.map { .object(["name": .string($0.name), "audio": .string($0.audio)]) })
        }
        for stage in task.inputs {
            if let output = job.tasks[stage]?.output { input[stage] = .object(output) }
        }
        input.merge(task.parameters) { _, parameter in parameter }
        return input
    }

    /// Deletes a finished job's uploaded audio and intermediate files, keeping its transcript.
    /// Only the orchestrator that finished the job does this, once.
    private func removeWorkingFiles(_ job: JobRecord, keeping result: ArtifactReference?) async {
        // `retention=0` asks for the audio to go once transcribed, whatever the deployment keeps.
        guard let artifacts, !options.keepWorkingFiles || job.retentionDays == 0 else { return }
        let removed: Int
        do {
            removed = try await artifacts.removeAll(ofJob: job.id, except: Set([result].compactMap { $0 }))
        } catch {
            // Left for the abandoned-files sweep and the job's deletion; the job itself is done.
            logger.warning("job_files_not_removed", metadata: ["error": "\(error)"])
            return
        }
        logger.info("job_files_removed", metadata: ["files": .stringConvertible(removed), "kept": "\(result?.key ?? "")"])
    }

    private func countJobFinished(_ status: JobStatus, job: JobRecord) {
        let labels = [("status", status.rawValue)]
        metrics.increment(DalstonMetric.jobsFinished, labels)
        metrics.record(DalstonMetric.jobDuration, labels, seconds: Date().timeIntervalSince(job.createdAt))
    }

    /// Looks at the job again when a retry falls due or an engine has been waited for long
    /// enough (the sweep would too, later); the earliest request for a job counts.
    private func scheduleWakeUp(jobID: String, at date: Date) {
        if let planned = wakeUps[jobID], planned <= date { return }
        let earliest = wakeUps.values.min()
        wakeUps[jobID] = date
        if earliest.map({ date < $0 }) ?? true { signalWakeUpChange() }
    }

    private func cancelWakeUp(_ jobID: String) {
        wakeUps[jobID] = nil
    }

    /// A child task of `run`: sleeps until the earliest wake-up (or until an earlier one is
    /// planned) and looks at the jobs that are due.
    private func wakeUpLoop() async {
        while !Task.isCancelled {
            let generation = wakeUpGeneration
            let delay = wakeUps.values.min().map { max(0, $0.timeIntervalSinceNow) + 0.01 } ?? 3600
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(for: .seconds(delay)) }
                group.addTask { await self.waitForWakeUpChange(after: generation) }
                await group.next()
                group.cancelAll()
                signalWakeUpChange()  // releases the waiter if the sleep ended first
            }
            let now = Date()
            for (jobID, due) in wakeUps where due <= now {
                wakeUps[jobID] = nil
                await wakeUp(jobID: jobID)
            }
        }
    }

    private func waitForWakeUpChange(after generation: Int) async {
        guard generation == wakeUpGeneration else { return }
        await withCheckedContinuation { wakeUpWaiter = $0 }
    }

    private func signalWakeUpChange() {
        wakeUpGeneration += 1
        wakeUpWaiter?.resume()
        wakeUpWaiter = nil
    }

    private func wakeUp(jobID: String) async {
        if liveEngines != nil { await refreshLiveEngines() }
        guard let job = try? await current(jobID) else { return }
        await advanceWithoutEvent(job)
    }

    /// The job's correlation fields and a span's trace context, for a message.
    private func correlation(_ job: JobRecord, span: (any Span)?) -> [String: String] {
        var metadata = job.correlation
        if let span {
            MessageTracing.inject(into: &metadata, context: span.context)
        } else {
            MessageTracing.inject(into: &metadata)
        }
        return metadata
    }
}
