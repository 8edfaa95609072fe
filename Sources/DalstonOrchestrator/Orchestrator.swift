import DalstonBroker
import DalstonLogging
import DalstonMetrics
import Tracing
import DalstonPipeline
import Foundation
import Logging

public struct OrchestratorOptions: Sendable {
    /// Attempts per task (the first one included) before the job fails.
    public var maximumAttempts = 3
    /// Delay before retry n is `retryBackoff * 2^(n-1)`.
    public var retryBackoff: Duration = .seconds(1)
    /// How often active jobs are checked against their task records, which recovers from missed
    /// events and from the orchestrator's own restarts.
    public var sweepInterval: Duration = .seconds(3)

    public init() {}
}

/// Turns jobs into tasks and moves them along as tasks finish.
///
/// All state lives in the broker (job and task records, the active-jobs index), so a restarted
/// orchestrator picks up where the last one stopped. Events make it fast; the periodic sweep makes
/// it correct when an event was missed (pub/sub is at-most-once). Handling is idempotent.
public actor Orchestrator {
    private let broker: any Broker
    private let options: OrchestratorOptions
    private let logger: Logger
    private let metrics: Instruments
    /// Jobs being advanced right now, and those asked for again meanwhile (see `advance`).
    private var advancing: Set<String> = []
    private var advanceAgain: Set<String> = []

    public init(
        broker: any Broker, options: OrchestratorOptions = OrchestratorOptions(), metrics: Instruments = .disabled,
        logger: Logger = Logger(label: "dalston.orchestrator")
    ) {
        self.broker = broker
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
        let events = broker.events()
        _ = await events.waitUntilReady(timeout: .seconds(10))
        logger.info("orchestrator_started")
        await sweep()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in events {
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
                events.cancel()
            }
        }
        logger.info("orchestrator_stopped")
    }

    /// Handles one event (also callable directly, for tests).
    public func handle(_ event: EventEnvelope) async {
        let eventType = PipelineEvent.all.contains(event.type) ? event.type : "other"
        metrics.counter(DalstonMetric.eventsProcessed, [("event_type", eventType)]).increment()
        metrics.timer(DalstonMetric.eventLag, [("event_type", eventType)]).record(seconds: Date().timeIntervalSince(event.emittedAt))
        guard let jobID = event.jobID else { return }
        var fields: Logger.Metadata = ["job_id": "\(jobID)"]
        if let requestID = event.metadata[MessageMetadataKey.requestID], !requestID.isEmpty {
            fields["request_id"] = "\(requestID)"
        } else if [PipelineEvent.jobCreated, PipelineEvent.taskCompleted, PipelineEvent.taskFailed].contains(event.type) {
            logger.warning("message_without_request_id", metadata: ["event_type": "\(event.type)", "job_id": "\(jobID)"])
        }
        let spanName: String
        switch event.type {
        case PipelineEvent.jobCreated: spanName = "orchestrator.handle_job"
        case PipelineEvent.taskCompleted, PipelineEvent.taskFailed: spanName = "orchestrator.handle_task_completed"
        case PipelineEvent.jobCancelRequested: spanName = "orchestrator.handle_cancel"
        default: return
        }
        await withLogContext(fields) {
            // The pub/sub hop: continue the producer's trace (the gateway request, or the engine's task).
            let (traceContext, problem) = MessageTracing.extract(from: event.metadata)
            if let problem {
                logger.warning("trace_context_unusable", metadata: ["reason": "\(problem)", "event_type": "\(event.type)", "action": "starting a new trace"])
            }
            await withTracedSpan(spanName, context: traceContext, ofKind: .consumer) { span in
                span.attributes["messaging.operation.type"] = "process"
                span.attributes["messaging.destination.name"] = "events"
                span.attributes["dalston.event_type"] = event.type
                span.attributes["dalston.job_id"] = jobID
                span.attributes["dalston.request_id"] = event.metadata[MessageMetadataKey.requestID]
                span.attributes["dalston.task_id"] = event.taskID
                logger.debug("event_received", metadata: ["event_type": "\(event.type)", "task_id": "\(event.taskID ?? "")"])
                switch event.type {
                case PipelineEvent.taskCompleted, PipelineEvent.taskFailed:
                    countTaskOutcome(event, jobID: jobID)
                    await advance(jobID: jobID, readySince: event.emittedAt)
                case PipelineEvent.jobCreated:
                    await advance(jobID: jobID, readySince: event.emittedAt)
                default:
                    await cancel(jobID: jobID)
                }
            }
        }
    }

    private func countTaskOutcome(_ event: EventEnvelope, jobID: String) {
        guard let task = TaskGraph.plan(jobID: jobID).first(where: { $0.taskID == event.taskID }) else { return }
        let status = event.type == PipelineEvent.taskCompleted ? "completed" : "failed"
        metrics.counter(DalstonMetric.tasksCompleted, [("engine_id", task.engineID), ("status", status)]).increment()
    }

    /// Brings every active job up to date with its task records.
    public func sweep() async {
        let active: [String]
        do {
            active = try await broker.indexMembers(PipelineIndex.activeJobs, limit: 10_000)
        } catch {
            logger.warning("sweep_failed", metadata: ["error": .error(error)])
            return
        }
        for jobID in active {
            let job = (try? await broker.state(.job(jobID))) ?? [:]
            await withLogContext(["job_id": "\(jobID)", "request_id": "\(job[JobField.requestID] ?? "")"]) {
                // No event to continue: what the sweep schedules joins the trace of the job's request.
                let (traceContext, _) = MessageTracing.extract(from: job)
                await ServiceContext.withValue(traceContext) {
                    await advance(jobID: jobID)
                }
            }
        }
    }

    /// Looks at the job's tasks and does what is due: enqueue ready tasks, retry failed ones
    /// whose back-off has passed, complete or fail the job. `readySince` is when the event that
    /// triggered this happened (for the scheduling-latency metric; `nil` from a sweep).
    ///
    /// One job is advanced by one call at a time: the actor is re-entered at every `await`, and
    /// an event, a sweep and a retry timer arriving together would otherwise all enqueue the same
    /// ready task. A call that finds the job busy leaves a note, and the busy call looks again.
    private func advance(jobID: String, readySince: Date? = nil) async {
        guard !advancing.contains(jobID) else {
            advanceAgain.insert(jobID)
            return
        }
        advancing.insert(jobID)
        defer { advancing.remove(jobID) }
        var trigger = readySince
        repeat {
            advanceAgain.remove(jobID)
            await advanceOnce(jobID: jobID, readySince: trigger)
            trigger = nil
        } while advanceAgain.contains(jobID)
    }

    private func advanceOnce(jobID: String, readySince: Date?) async {
        do {
            let job = try await broker.state(.job(jobID))
            guard let statusText = job[JobField.status], let status = JobStatus(rawValue: statusText) else {
                logger.warning("job_record_missing")
                try await broker.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
                return
            }
            if status.isFinal {
                try await broker.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
                return
            }
            let plan = TaskGraph.plan(jobID: jobID)
            if status == .pending {
                try await withTracedSpan("orchestrator.build_dag") { span in
                    span.attributes["dalston.job_id"] = jobID
                    span.attributes["dalston.task_count"] = plan.count
                    logger.info("job_scheduled", metadata: ["task_count": .stringConvertible(plan.count)])
                    try await broker.saveState(.job(jobID), fields: [JobField.status: JobStatus.running.rawValue, JobField.updatedAt: now()])
                }
            }
            var records: [String: [String: String]] = [:]
            for task in plan { records[task.taskID] = try await broker.state(.task(task.taskID)) }

            for task in plan {
                let record = records[task.taskID] ?? [:]
                guard record[TaskField.status] == TaskStatus.failed.rawValue else { continue }
                let attempt = Int(record[TaskField.attempt] ?? "1") ?? 1
                let error = record[TaskField.error] ?? "unknown error"
                let retryable = record[TaskField.retryable] != "false"
                if attempt < options.maximumAttempts && retryable {
                    let retryAt = Date().addingTimeInterval(options.retryBackoff.timeInterval * pow(2, Double(attempt - 1)))
                    try await broker.saveState(.task(task.taskID), fields: [TaskField.status: TaskStatus.retryPending.rawValue, TaskField.retryAt: timestamp(retryAt)])
                    records[task.taskID]?[TaskField.status] = TaskStatus.retryPending.rawValue
                    records[task.taskID]?[TaskField.retryAt] = timestamp(retryAt)
                    logger.warning("task_retry_scheduled", metadata: [
                        "task_id": "\(task.taskID)", "attempt": .stringConvertible(attempt + 1), "error": "\(error)",
                        "retry_in_seconds": .stringConvertible(retryAt.timeIntervalSinceNow),
                    ])
                    metrics.counter(DalstonMetric.taskRetries, [("engine_id", task.engineID)]).increment()
                    scheduleSweep(at: retryAt)
                } else {
                    try await failJob(jobID: jobID, job: job, task: task, error: error, attempts: attempt)
                    return
                }
            }

            for task in plan {
                let record = records[task.taskID] ?? [:]
                guard record[TaskField.status] == TaskStatus.retryPending.rawValue,
                      let retryAt = record[TaskField.retryAt].flatMap(parseTimestamp), retryAt <= Date() else { continue }
                let attempt = (Int(record[TaskField.attempt] ?? "1") ?? 1) + 1
                try await enqueue(task, job: job, attempt: attempt, records: records)
                records[task.taskID]?[TaskField.status] = TaskStatus.queued.rawValue
            }

            let statuses = records.compactMapValues { $0[TaskField.status].flatMap(TaskStatus.init(rawValue:)) }
            for task in TaskGraph.ready(plan, statuses: statuses) {
                try await enqueue(task, job: job, attempt: 1, records: records)
                if let readySince { metrics.timer(DalstonMetric.schedulingLatency).record(seconds: Date().timeIntervalSince(readySince)) }
                records[task.taskID]?[TaskField.status] = TaskStatus.queued.rawValue
            }

            let completed = plan.filter { records[$0.taskID]?[TaskField.status] == TaskStatus.completed.rawValue }
            if completed.count == plan.count {
                try await completeJob(jobID: jobID, job: job, records: records)
            } else {
                let current = plan.first { records[$0.taskID]?[TaskField.status] != TaskStatus.completed.rawValue }
                try await broker.saveState(.job(jobID), fields: [
                    JobField.progress: String(completed.count * 100 / plan.count),
                    JobField.currentStage: current?.stage ?? "",
                    JobField.updatedAt: now(),
                ])
            }
        } catch {
            logger.error("job_advance_failed", metadata: ["error": .error(error)])
        }
    }

    private func enqueue(_ task: PlannedTask, job: [String: String], attempt: Int, records: [String: [String: String]]) async throws {
        var input: [String: JSONValue] = [
            "audio_path": .string(job[JobField.audioPath] ?? ""),
            "language": .string(job[JobField.language] ?? "en"),
            "model_id": .string(job[JobField.modelID] ?? ""),
            "timestamps_granularity": .string(job[JobField.timestampsGranularity] ?? "word"),
        ]
        // Outputs of every earlier stage, under the stage's name.
        for planned in TaskGraph.plan(jobID: job[JobField.id] ?? "") where planned.taskID != task.taskID {
            if let output = records[planned.taskID]?[TaskField.output],
               case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(output.utf8)) {
                input[planned.stage] = .object(object)
            }
        }
        let jobID = job[JobField.id] ?? ""
        try await withTracedSpan("orchestrator.schedule_task", ofKind: .producer) { span in
            span.attributes["dalston.job_id"] = jobID
            span.attributes["dalston.task_id"] = task.taskID
            span.attributes["dalston.engine_id"] = task.engineID
            span.attributes["dalston.stage"] = task.stage
            span.attributes["dalston.task.attempt"] = attempt
            span.attributes["messaging.operation.type"] = "send"
            span.attributes["messaging.destination.name"] = task.engineID
            var metadata = [MessageMetadataKey.jobID: jobID, MessageMetadataKey.taskID: task.taskID]
            if let requestID = job[JobField.requestID], !requestID.isEmpty { metadata[MessageMetadataKey.requestID] = requestID }
            MessageTracing.inject(into: &metadata)
            try await broker.saveState(.task(task.taskID), fields: [
                TaskField.status: TaskStatus.queued.rawValue, TaskField.jobID: jobID, TaskField.stage: task.stage,
                TaskField.engineID: task.engineID, TaskField.attempt: String(attempt), TaskField.queuedAt: now(),
            ])
            try await broker.enqueue(TaskEnvelope(
                taskID: task.taskID, jobID: jobID, engineID: task.engineID, stage: task.stage, attempt: attempt, input: input, metadata: metadata))
        }
        metrics.counter(DalstonMetric.tasksScheduled, [("engine_id", task.engineID), ("stage", task.stage)]).increment()
        logger.info("task_scheduled", metadata: [
            "task_id": "\(task.taskID)", "engine_id": "\(task.engineID)", "stage": "\(task.stage)", "attempt": .stringConvertible(attempt),
        ])
    }

    private func completeJob(jobID: String, job: [String: String], records: [String: [String: String]]) async throws {
        let mergeOutput = records["\(jobID)_merge"]?[TaskField.output].flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        var resultPath = ""
        if case .object(let object)? = mergeOutput { resultPath = object["result_path"]?.stringValue ?? "" }
        let created = job[JobField.createdAt].flatMap(parseTimestamp) ?? Date()
        let seconds = Date().timeIntervalSince(created)
        try await withTracedSpan("orchestrator.mark_job_completed") { span in
            span.attributes["dalston.job_id"] = jobID
            span.attributes["dalston.processing_time_seconds"] = seconds
            try await broker.saveState(.job(jobID), fields: [
                JobField.status: JobStatus.completed.rawValue, JobField.progress: "100", JobField.currentStage: "",
                JobField.resultPath: resultPath, JobField.completedAt: now(), JobField.updatedAt: now(),
                JobField.processingTimeSeconds: String(format: "%.3f", seconds),
            ])
            try await broker.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
            try await broker.publish(EventEnvelope(type: PipelineEvent.jobCompleted, jobID: jobID, metadata: correlation(job)))
        }
        countJobFinished(.completed, job: job)
        logger.info("job_completed", metadata: ["processing_time_seconds": .stringConvertible(seconds)])
    }

    private func failJob(jobID: String, job: [String: String], task: PlannedTask, error: String, attempts: Int) async throws {
        try await withTracedSpan("orchestrator.mark_job_failed") { span in
            span.attributes["dalston.job_id"] = jobID
            span.attributes["dalston.task_id"] = task.taskID
            span.attributes["dalston.task.attempt"] = attempts
            span.setStatus(SpanStatus(code: .error, message: error))
            try await broker.saveState(.job(jobID), fields: [
                JobField.status: JobStatus.failed.rawValue, JobField.error: error, JobField.errorType: "\(task.stage)_failed",
                JobField.currentStage: task.stage, JobField.completedAt: now(), JobField.updatedAt: now(),
            ])
            try await broker.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
            try await broker.publish(EventEnvelope(type: PipelineEvent.jobFailed, jobID: jobID, data: ["error": .string(error)], metadata: correlation(job)))
        }
        countJobFinished(.failed, job: job)
        logger.error("job_failed", metadata: ["task_id": "\(task.taskID)", "stage": "\(task.stage)", "error": "\(error)", "attempts": .stringConvertible(attempts)])
    }

    private func cancel(jobID: String) async {
        do {
            let job = try await broker.state(.job(jobID))
            guard let status = job[JobField.status].flatMap(JobStatus.init(rawValue:)), !status.isFinal else { return }
            try await broker.saveState(.job(jobID), fields: [JobField.status: JobStatus.cancelled.rawValue, JobField.completedAt: now(), JobField.updatedAt: now()])
            for task in TaskGraph.plan(jobID: jobID) {
                let record = try await broker.state(.task(task.taskID))
                if record[TaskField.status] != TaskStatus.completed.rawValue {
                    try await broker.saveState(.task(task.taskID), fields: [TaskField.status: TaskStatus.cancelled.rawValue])
                }
            }
            try await broker.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
            try await broker.publish(EventEnvelope(type: PipelineEvent.jobCancelled, jobID: jobID, metadata: correlation(job)))
            countJobFinished(.cancelled, job: job)
            logger.info("job_cancelled")
        } catch {
            logger.error("job_cancel_failed", metadata: ["error": .error(error)])
        }
    }

    private func countJobFinished(_ status: JobStatus, job: [String: String]) {
        let labels = [("status", status.rawValue)]
        metrics.counter(DalstonMetric.jobsFinished, labels).increment()
        if let created = job[JobField.createdAt].flatMap(parseTimestamp) {
            metrics.timer(DalstonMetric.jobDuration, labels).record(seconds: Date().timeIntervalSince(created))
        }
    }

    private func scheduleSweep(at date: Date) {
        let delay = max(0, date.timeIntervalSinceNow) + 0.01
        Task {
            try? await Task.sleep(for: .seconds(delay))
            await self.sweep()
        }
    }

    private func correlation(_ job: [String: String]) -> [String: String] {
        var metadata = [MessageMetadataKey.jobID: job[JobField.id] ?? ""]
        if let requestID = job[JobField.requestID] { metadata[MessageMetadataKey.requestID] = requestID }
        return metadata
    }

    private func now() -> String { timestamp(Date()) }
}

func timestamp(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
}

func parseTimestamp(_ text: String) -> Date? {
    try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
}

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
