import DalstonBroker
package import Foundation

/// What happened to a job, as the orchestrator hears it.
package enum JobEvent: Sendable, Equatable {
    /// `job_created`: the gateway stored a new job.
    case created
    /// An engine (or the broker, for a dead letter) reported how an attempt of a task ended.
    case reported(TaskReport)
    /// `job_cancel_requested`: someone asked for the job to stop.
    case cancelRequested
    /// No news: a sweep, a retry timer, or a look after a missed event.
    case tick
}

/// The orchestrator's rules, set by the operator.
package struct JobPolicy: Sendable, Equatable {
    /// Attempts per task (the first one included) before the job fails.
    package var maximumAttempts = 3
    /// Delay before retry n is `retryBackoff * 2^(n-1)`.
    package var retryBackoff: Duration = .seconds(1)
    /// A job whose record has not changed for this long fails (nil: never).
    package var stallTimeout: Duration? = .seconds(21_600)
    /// How old a deposited outcome must be before a look without its event applies it.
    package var missedEventGrace: Duration = .seconds(5)
    /// How long a task may wait for its engine when none is running: zero fails the job as the
    /// task is scheduled; nil waits for ever.
    package var engineWait: Duration? = .seconds(300)

    package init() {}
}

/// What the machine knows besides the record: the time, and which engines are alive.
package struct JobSurroundings: Sendable, Equatable {
    package var now: Date
    /// Outcomes reported before this were made while nobody listened: missed, apply them now.
    package var listeningSince: Date
    /// Engines with a live worker; nil when unknown (the registry could not be read), in which
    /// case no job fails for want of an engine.
    package var liveEngines: Set<String>?

    package init(now: Date = Date(), listeningSince: Date = .distantPast, liveEngines: Set<String>? = nil) {
        self.now = now
        self.listeningSince = listeningSince
        self.liveEngines = liveEngines
    }
}

/// One thing to do to a job. The orchestrator carries out a decision's steps together, as one
/// conditional change of the job's record.
package enum JobStep: Sendable, Equatable {
    /// The current attempt of a task ended: `completed` or `failed`.
    case record(TaskReport)
    /// A failed attempt is tried again at `at` (`retry_pending`).
    case retryLater(stage: String, attempt: Int, at: Date)
    /// The task goes on its engine's queue (`queued`).
    case enqueue(PlannedTask, attempt: Int)
    /// Every task has completed; `result` names the transcript.
    case complete(result: ArtifactReference?)
    case fail(JobFailure)
    case cancel
}

/// Why a job failed: the stage, the error shown to the user, its kind, the attempts made.
package struct JobFailure: Sendable, Equatable {
    package var stage: String
    package var message: String
    /// `<stage>_failed`, `engine_unavailable` or `stalled`.
    package var kind: String
    package var attempts: Int

    package init(stage: String, message: String, kind: String, attempts: Int) {
        self.stage = stage
        self.message = message
        self.kind = kind
        self.attempts = attempts
    }
}

/// What the machine decided: the steps, the job as it is after them, and when to look again.
package struct JobDecision: Sendable, Equatable {
    package var steps: [JobStep] = []
    /// The job with the steps applied (what the next event about it starts from).
    package var job: JobRecord
    /// When the job needs another look without news (a retry falling due, an engine waited for).
    package var wakeUpAt: Date?
    /// The job is already final: drop it from the active index, decide nothing.
    package var isFinished = false
    /// Reports applied that had been deposited without their event reaching this orchestrator.
    package var missedReports: [TaskReport] = []

    /// The job fails because no worker of a stage's engine is alive.
    package var failsForWantOfAnEngine: Bool {
        steps.contains { step in
            if case .fail(let failure) = step { return failure.kind == "engine_unavailable" }
            return false
        }
    }

    package var finishes: Bool {
        steps.contains { step in
            switch step {
            case .complete, .fail, .cancel: true
            default: false
            }
        }
    }
}

/// A job's life, without I/O: given its record and what happened, what to do.
///
/// Job: `pending` → `running` (its first task queued) → `completed` | `failed` | `cancelled`.
/// Task: `waiting` → `queued` → `completed` | `failed` → (`retry_pending` → `queued`)...
/// The full table is in docs/job-state-machine.md. Every decision depends only on the
/// arguments, so every transition is unit-tested without a broker.
package struct JobStateMachine: Sendable {
    package var policy: JobPolicy

    package init(policy: JobPolicy = JobPolicy()) {
        self.policy = policy
    }

    package func decide(_ job: JobRecord, on event: JobEvent, graph: JobGraph, surroundings: JobSurroundings) -> JobDecision {
        var decision = JobDecision(job: job)
        let now = surroundings.now
        if job.status.isFinal {
            decision.isFinished = true
            return decision
        }
        // 1. The outcome that came with the event, if it is about the task's current attempt.
        if case .reported(let report) = event {
            apply(.record(report), to: &decision, now: now, graph: graph)
        }
        // 2. Outcomes deposited in the record whose events were missed (pub/sub is at most once).
        let graceStart = now.addingTimeInterval(-policy.missedEventGrace.seconds)
        for task in graph.tasks {
            guard let report = decision.job.tasks[task.stage]?.report, accepts(report, in: decision.job),
                  report.reportedAt < surroundings.listeningSince || report.reportedAt < graceStart else { continue }
            apply(.record(report), to: &decision, now: now, graph: graph)
            decision.missedReports.append(report)
        }
        // 3. A cancel wins over everything still to do.
        if decision.job.cancelRequested {
            apply(.cancel, to: &decision, now: now, graph: graph)
            return decision
        }
        // 4. The last resort for a job that stopped moving (a task lost for good).
        if let stallTimeout = policy.stallTimeout, now.timeIntervalSince(job.updatedAt ?? job.createdAt) > stallTimeout.seconds {
            let stage = job.currentStage ?? graph.tasks.first?.stage ?? PipelineStages.prepare
            apply(.fail(JobFailure(
                stage: stage, message: "no progress for \(Int(stallTimeout.seconds)) s at the \(stage) stage; the job was given up",
                kind: "stalled", attempts: job.tasks[stage]?.attempt ?? 0)), to: &decision, now: now, graph: graph)
            return decision
        }
        // 5. Failed attempts: another one later, or the job fails.
        for task in graph.tasks {
            guard let state = decision.job.tasks[task.stage], state.status == .failed else { continue }
            let failure = state.failure ?? TaskFailure(message: "unknown error", retryable: true)
            if state.attempt < policy.maximumAttempts && failure.retryable {
                let due = now.addingTimeInterval(policy.retryBackoff.seconds * pow(2, Double(state.attempt - 1)))
                apply(.retryLater(stage: task.stage, attempt: state.attempt, at: due), to: &decision, now: now, graph: graph)
            } else {
                apply(.fail(JobFailure(stage: task.stage, message: failure.message, kind: "\(task.stage)_failed", attempts: state.attempt)),
                      to: &decision, now: now, graph: graph)
                return decision
            }
        }
        // 6. Work to queue: retries that are due, then tasks whose inputs are all there.
        var toQueue: [(PlannedTask, Int)] = []
        for task in graph.tasks {
            guard let state = decision.job.tasks[task.stage], state.status == .retryPending, let due = state.retryAt else { continue }
            if due <= now {
                toQueue.append((task, state.attempt + 1))
            } else {
                decision.wakeUp(at: due)
            }
        }
        let statuses = decision.job.tasks.mapValues(\.status)
        toQueue += graph.ready(statuses: statuses).map { ($0, 1) }
        for (task, attempt) in toQueue {
            if let failure = missingEngine(for: task, since: nil, surroundings: surroundings) {
                apply(.fail(failure), to: &decision, now: now, graph: graph)
                return decision
            }
            apply(.enqueue(task, attempt: attempt), to: &decision, now: now, graph: graph)
        }
        // 7. Queued tasks whose engine has gone: wait for it, up to the policy's limit.
        for task in graph.tasks {
            guard let state = decision.job.tasks[task.stage], state.status == .queued || state.status == .running,
                  surroundings.liveEngines.map({ !$0.contains(task.engineID) }) ?? false else { continue }
            let since = state.queuedAt ?? now
            if let failure = missingEngine(for: task, since: since, surroundings: surroundings) {
                apply(.fail(failure), to: &decision, now: now, graph: graph)
                return decision
            }
            if let wait = policy.engineWait { decision.wakeUp(at: since.addingTimeInterval(wait.seconds)) }
        }
        // 8. Everything done: the job is.
        if graph.tasks.allSatisfy({ decision.job.tasks[$0.stage]?.status == .completed }) {
            let result = decision.job.tasks[graph.resultStage]?.output?["result"]?.stringValue.flatMap(ArtifactReference.init(key:))
            apply(.complete(result: result), to: &decision, now: now, graph: graph)
        }
        return decision
    }

    /// A job whose graph cannot be built fails at once, with the reason.
    package func unplannable(_ job: JobRecord, error: JobGraphError, now: Date) -> JobDecision {
        var decision = JobDecision(job: job)
        if job.status.isFinal {
            decision.isFinished = true
            return decision
        }
        let graph = JobGraph(unchecked: job.id)
        apply(.fail(JobFailure(stage: job.currentStage ?? PipelineStages.prepare, message: "\(error)", kind: "invalid_graph", attempts: 0)),
              to: &decision, now: now, graph: graph)
        return decision
    }

    /// Whether a report is about the task's current attempt, still unrecorded.
    private func accepts(_ report: TaskReport, in job: JobRecord) -> Bool {
        guard let state = job.tasks[report.stage] else { return false }
        return state.attempt == report.attempt && (state.status == .queued || state.status == .running)
    }

    /// The failure of a job whose task's engine has no live worker and may not be waited for
    /// (any longer); nil while it may wait, or when it is not missing.
    private func missingEngine(for task: PlannedTask, since: Date?, surroundings: JobSurroundings) -> JobFailure? {
        guard let live = surroundings.liveEngines, !live.contains(task.engineID), let wait = policy.engineWait else { return nil }
        let waited = since.map { surroundings.now.timeIntervalSince($0) } ?? 0
        guard waited >= wait.seconds else { return nil }
        let advice = "start one (dalston engine \(task.engineID), or dalston up) and submit the audio again"
        let message = wait.seconds > 0
            ? "no \(task.engineID) engine has been running for \(Int(wait.seconds)) s to do the \(task.stage) stage; \(advice)"
            : "no \(task.engineID) engine is running to do the \(task.stage) stage; \(advice)"
        return JobFailure(stage: task.stage, message: message, kind: "engine_unavailable", attempts: 0)
    }

    /// Adds a step and applies it to the decision's copy of the job, as the store will.
    private func apply(_ step: JobStep, to decision: inout JobDecision, now: Date, graph: JobGraph) {
        var job = decision.job
        switch step {
        case .record(let report):
            guard accepts(report, in: job) else { return }
            job.tasks[report.stage]?.status = report.outcome.succeeded ? .completed : .failed
            job.tasks[report.stage]?.completedAt = now
            job.tasks[report.stage]?.report = report
        case .retryLater(let stage, _, let due):
            job.tasks[stage]?.status = .retryPending
            job.tasks[stage]?.retryAt = due
            decision.wakeUp(at: due)
        case .enqueue(let task, let attempt):
            var state = job.tasks[task.stage] ?? TaskState()
            state.status = .queued
            state.attempt = attempt
            state.queuedAt = now
            job.tasks[task.stage] = state
            job.status = .running
            job.currentStage = task.stage
        case .complete(let result):
            job.status = .completed
            job.progress = 100
            job.currentStage = nil
            job.result = result
            job.completedAt = now
            job.processingTimeSeconds = now.timeIntervalSince(job.createdAt)
        case .fail(let failure):
            job.status = .failed
            job.error = failure.message
            job.errorType = failure.kind
            job.currentStage = failure.stage
            job.completedAt = now
        case .cancel:
            job.status = .cancelled
            job.completedAt = now
        }
        if case .enqueue = step {
            job.progress = graph.tasks.filter { job.tasks[$0.stage]?.status == .completed }.count * 100 / max(1, graph.tasks.count)
        }
        job.updatedAt = now
        decision.job = job
        decision.steps.append(step)
    }
}

extension JobDecision {
    mutating func wakeUp(at date: Date) {
        wakeUpAt = min(wakeUpAt ?? date, date)
    }
}
