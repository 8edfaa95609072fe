import DalstonBroker
import DalstonPipeline
import DalstonTestSupport
import Foundation
import Testing

/// Every transition of `JobStateMachine`, without a broker: a record and an event in, steps out.
@Suite("Job state machine")
final class JobStateMachineTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let everyEngine: Set<String> = ["audio-prepare", "transcribe", "merge"]

    var machine = JobStateMachine()
    var surroundings = JobSurroundings(now: now, listeningSince: now.addingTimeInterval(-600), liveEngines: everyEngine)

    func job(_ status: JobStatus = .pending, tasks: [String: TaskState] = [:]) -> JobRecord {
        var job = JobRecord(id: "job_1", status: status, requestID: "req_1", createdAt: Self.now.addingTimeInterval(-10))
        job.updatedAt = Self.now.addingTimeInterval(-1)
        job.tasks = tasks
        return job
    }

    func task(_ status: TaskStatus, attempt: Int = 1, report: TaskReport? = nil, queuedAt: Date? = nil, retryAt: Date? = nil) -> TaskState {
        var state = TaskState()
        state.status = status
        state.attempt = attempt
        state.report = report
        state.queuedAt = queuedAt ?? Self.now.addingTimeInterval(-2)
        state.retryAt = retryAt
        return state
    }

    func report(_ stage: String, attempt: Int = 1, _ outcome: TaskOutcome, at date: Date = now) -> TaskReport {
        TaskReport(stage: stage, attempt: attempt, outcome: outcome, workerID: "w1", durationSeconds: 0.5, reportedAt: date)
    }

    func decide(_ job: JobRecord, _ event: JobEvent) throws -> JobDecision {
        machine.decide(job, on: event, graph: try JobGraph.plan(for: job), surroundings: surroundings)
    }

    func planned(_ stage: String) throws -> PlannedTask {
        try #require(try JobGraph.plan(for: job()).task(stage: stage))
    }

    static let prepared: TaskOutcome = .succeeded(output: ["prepared_audio": "jobs/job_1/prepared.wav"])

    @Test func aNewJobQueuesItsFirstStage() throws {
        let decision = try decide(job(), .created)
        #expect(decision.steps == [.enqueue(try planned("prepare"), attempt: 1)])
        #expect(decision.job.status == .running && decision.job.currentStage == "prepare" && decision.job.progress == 0)
        #expect(decision.job.tasks["prepare"]?.status == .queued)
    }

    @Test func aCompletedStageIsRecordedAndTheNextQueuedInOneDecision() throws {
        let outcome = report("prepare", Self.prepared)
        let decision = try decide(job(.running, tasks: ["prepare": task(.queued)]), .reported(outcome))
        #expect(decision.steps == [.record(outcome), .enqueue(try planned("transcribe"), attempt: 1)])
        #expect(decision.job.progress == 33)
        #expect(decision.job.tasks["prepare"]?.output == ["prepared_audio": "jobs/job_1/prepared.wav"], "the output is read from the report")
    }

    @Test func aDuplicateOrLateReportChangesNothing() throws {
        let outcome = report("prepare", Self.prepared)
        var done = task(.completed, report: outcome)
        done.completedAt = Self.now
        let recorded = job(.running, tasks: ["prepare": done, "transcribe": task(.queued)])
        #expect(try decide(recorded, .reported(outcome)).steps.isEmpty)
        let stale = report("transcribe", attempt: 1, .failed(TaskFailure(message: "old", retryable: true)))
        #expect(try decide(job(.running, tasks: ["prepare": done, "transcribe": task(.queued, attempt: 2)]), .reported(stale)).steps.isEmpty,
                "a report about an earlier attempt is history")
    }

    @Test func aRetryableFailureIsTriedAgainAfterABackOff() throws {
        machine.policy.retryBackoff = .seconds(2)
        let failed = report("prepare", .failed(TaskFailure(message: "timed out", retryable: true)))
        let decision = try decide(job(.running, tasks: ["prepare": task(.queued)]), .reported(failed))
        let due = Self.now.addingTimeInterval(2)
        #expect(decision.steps == [.record(failed), .retryLater(stage: "prepare", attempt: 1, at: due)])
        #expect(decision.wakeUpAt == due && decision.job.tasks["prepare"]?.status == .retryPending)
        // The second retry waits twice as long.
        let second = report("prepare", attempt: 2, .failed(TaskFailure(message: "timed out", retryable: true)))
        let later = try decide(job(.running, tasks: ["prepare": task(.queued, attempt: 2)]), .reported(second))
        #expect(later.steps.last == .retryLater(stage: "prepare", attempt: 2, at: Self.now.addingTimeInterval(4)))
    }

    @Test func aRetryIsQueuedOnceDueAndNotBefore() throws {
        let waiting = job(.running, tasks: ["prepare": task(.retryPending, retryAt: Self.now.addingTimeInterval(5))])
        let early = try decide(waiting, .tick)
        #expect(early.steps.isEmpty && early.wakeUpAt == Self.now.addingTimeInterval(5))
        let due = job(.running, tasks: ["prepare": task(.retryPending, retryAt: Self.now.addingTimeInterval(-1))])
        #expect(try decide(due, .tick).steps == [.enqueue(try planned("prepare"), attempt: 2)])
    }

    @Test func theLastAttemptsFailureFailsTheJob() throws {
        let failed = report("transcribe", attempt: 3, .failed(TaskFailure(message: "decoder crashed", retryable: true)))
        let decision = try decide(job(.running, tasks: ["prepare": task(.completed, report: report("prepare", Self.prepared)), "transcribe": task(.queued, attempt: 3)]),
                                  .reported(failed))
        #expect(decision.steps == [.record(failed), .fail(JobFailure(stage: "transcribe", message: "decoder crashed", kind: "transcribe_failed", attempts: 3))])
        #expect(decision.finishes && decision.job.status == .failed && decision.job.currentStage == "transcribe")
    }

    @Test func aPermanentFailureOrADeadLetterIsNeverRetried() throws {
        let permanent = report("prepare", .failed(TaskFailure(message: "not audio", retryable: false)))
        #expect(try decide(job(.running, tasks: ["prepare": task(.queued)]), .reported(permanent)).steps.last
            == .fail(JobFailure(stage: "prepare", message: "not audio", kind: "prepare_failed", attempts: 1)))
        let dead = report("prepare", .deadLettered(reason: "given up after 3 deliveries"))
        let decision = try decide(job(.running, tasks: ["prepare": task(.queued)]), .reported(dead))
        #expect(decision.steps.last == .fail(JobFailure(stage: "prepare", message: "given up after 3 deliveries", kind: "prepare_failed", attempts: 1)))
    }

    @Test func aCancelWinsOverWorkStillToDo() throws {
        var cancelling = job(.running, tasks: ["prepare": task(.queued)])
        cancelling.cancelRequested = true
        let outcome = report("prepare", Self.prepared)
        let decision = try decide(cancelling, .reported(outcome))
        #expect(decision.steps == [.record(outcome), .cancel], "the outcome is kept, nothing more is queued")
        #expect(decision.job.status == .cancelled)
        #expect(try decide(cancelling, .cancelRequested).steps == [.cancel])
    }

    @Test func aFinalJobIsOnlyForgotten() throws {
        for status in [JobStatus.completed, .failed, .cancelled] {
            let decision = try decide(job(status), .tick)
            #expect(decision.isFinished && decision.steps.isEmpty)
        }
    }

    @Test func aJobWithoutProgressForTooLongFails() throws {
        machine.policy.stallTimeout = .seconds(60)
        var stuck = job(.running, tasks: ["prepare": task(.queued)])
        stuck.currentStage = "prepare"
        stuck.updatedAt = Self.now.addingTimeInterval(-61)
        let decision = try decide(stuck, .tick)
        #expect(decision.steps == [.fail(JobFailure(stage: "prepare", message: "no progress for 60 s at the prepare stage; the job was given up", kind: "stalled", attempts: 1))])
    }

    @Test func aDepositedReportWhoseEventWasMissedIsAppliedAfterTheGrace() throws {
        machine.policy.missedEventGrace = .seconds(5)
        let recent = report("prepare", Self.prepared, at: Self.now.addingTimeInterval(-1))
        #expect(try decide(job(.running, tasks: ["prepare": task(.queued, report: recent)]), .tick).steps.isEmpty,
                "a fresh report's event is probably on its way")
        let old = report("prepare", Self.prepared, at: Self.now.addingTimeInterval(-6))
        let decision = try decide(job(.running, tasks: ["prepare": task(.queued, report: old)]), .tick)
        #expect(decision.steps == [.record(old), .enqueue(try planned("transcribe"), attempt: 1)] && decision.missedReports == [old])
        // Reported before this orchestrator listened: applied at once.
        surroundings.listeningSince = Self.now
        #expect(try decide(job(.running, tasks: ["prepare": task(.queued, report: recent)]), .tick).steps.first == .record(recent))
    }

    @Test func theLastStageCompletesTheJobWithItsResult() throws {
        let merged = report("merge", .succeeded(output: ["result": "jobs/job_1/result.json"]))
        let done = task(.completed, report: report("transcribe", .succeeded(output: ["words": "jobs/job_1/words.json"])))
        let decision = try decide(job(.running, tasks: ["prepare": task(.completed, report: report("prepare", Self.prepared)), "transcribe": done, "merge": task(.queued)]),
                                  .reported(merged))
        #expect(decision.steps == [.record(merged), .complete(result: ArtifactReference(jobID: "job_1", name: "result.json"))])
        #expect(decision.job.status == .completed && decision.job.progress == 100 && decision.job.processingTimeSeconds == 10)
    }

    @Test func aStageWithoutALiveEngineFailsAtOnceWhenOperatorsChooseSo() throws {
        machine.policy.engineWait = .zero
        surroundings.liveEngines = ["transcribe", "merge"]
        let decision = try decide(job(), .created)
        guard case .fail(let failure)? = decision.steps.last else { Issue.record("expected a failure, got \(decision.steps)"); return }
        #expect(failure.kind == "engine_unavailable" && failure.stage == "prepare")
        #expect(failure.message.contains("no audio-prepare engine is running") && failure.message.contains("dalston engine audio-prepare"))
        surroundings.liveEngines = nil
        #expect(try decide(job(), .created).steps == [.enqueue(try planned("prepare"), attempt: 1)], "an unreadable registry fails nothing")
    }

    @Test func aStageWithoutALiveEngineWaitsUpToTheConfiguredTime() throws {
        machine.policy.engineWait = .seconds(300)
        surroundings.liveEngines = ["transcribe", "merge"]
        #expect(try decide(job(), .created).steps == [.enqueue(try planned("prepare"), attempt: 1)], "queued: an engine may come")
        let waiting = try decide(job(.running, tasks: ["prepare": task(.queued, queuedAt: Self.now.addingTimeInterval(-100))]), .tick)
        #expect(waiting.steps.isEmpty && waiting.wakeUpAt == Self.now.addingTimeInterval(200))
        let gaveUp = try decide(job(.running, tasks: ["prepare": task(.queued, queuedAt: Self.now.addingTimeInterval(-301))]), .tick)
        guard case .fail(let failure)? = gaveUp.steps.last else { Issue.record("expected a failure, got \(gaveUp.steps)"); return }
        #expect(failure.kind == "engine_unavailable" && failure.message.contains("for 300 s"))
        machine.policy.engineWait = nil
        #expect(try decide(job(.running, tasks: ["prepare": task(.queued, queuedAt: Self.now.addingTimeInterval(-86_400))]), .tick).steps.isEmpty,
                "waiting for ever")
    }
}

@Suite("Job graph")
struct JobGraphTests {
    @Test func aTableIsCheckedBeforeAnythingRuns() {
        #expect(throws: JobGraphError.duplicateStage("a")) {
            try JobGraph(jobID: "j", rules: [StageRule("a", engine: "x"), StageRule("a", engine: "y")], resultStage: "a")
        }
        #expect(throws: JobGraphError.inputNotProduced(stage: "b", input: "diarize")) {
            try JobGraph(jobID: "j", rules: [StageRule("a", engine: "x"), StageRule("b", engine: "y", reads: ["a", "diarize"])], resultStage: "b")
        }
        #expect(throws: JobGraphError.cycle(["a", "b"])) {
            try JobGraph(jobID: "j", rules: [StageRule("a", engine: "x", reads: ["b"]), StageRule("b", engine: "y", reads: ["a"])], resultStage: "b")
        }
        #expect(throws: JobGraphError.noResultStage("merge")) {
            try JobGraph(jobID: "j", rules: [StageRule("a", engine: "x")], resultStage: "merge")
        }
    }

    @Test func stagesRunInParallelWhereTheTableAllows() throws {
        // The shape a diarize stage beside transcription takes: a row, not a code path.
        let graph = try JobGraph(jobID: "j", rules: [
            StageRule("merge", engine: "merge", reads: ["transcribe", "diarize"]),
            StageRule("prepare", engine: "audio-prepare"),
            StageRule("transcribe", engine: "transcribe", reads: ["prepare"]),
            StageRule("diarize", engine: "diarize", reads: ["prepare"]),
        ], resultStage: "merge")
        #expect(graph.tasks.map(\.stage) == ["prepare", "transcribe", "diarize", "merge"], "ordered so that inputs come first")
        #expect(graph.ready(statuses: ["prepare": .completed]).map(\.stage) == ["transcribe", "diarize"])
        #expect(graph.ready(statuses: ["prepare": .completed, "transcribe": .completed, "diarize": .queued]).isEmpty)
    }
}

@Suite("Waiting for jobs")
struct JobEndWatcherTests {
    @Test func concurrentWaitsShareOneSubscriptionAndEachHearsItsOwnJob() async throws {
        let broker = InMemoryBroker()
        let artifacts = FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-wait-\(UUID().uuidString)"))
        let jobs = JobService(state: broker, events: broker, artifacts: artifacts)
        var submitted: [String] = []
        for index in 0..<20 {
            submitted.append(try await jobs.submit(JobSubmission(audio: [0, 1, 2, 3], filename: "a.wav", requestID: "req_wait\(index)")).id)
        }
        let ids = submitted
        try await withThrowingTaskGroup(of: String.self) { group in
            for id in ids {
                group.addTask {
                    _ = try await jobs.waitForFinalState(id, timeout: .seconds(60), fallbackPoll: .seconds(60))
                    return id
                }
            }
            #expect(await eventually(timeout: .seconds(30)) { await broker.subscriberCount == 1 }, "one subscription for 20 waits")
            // The final events, again until every wait has heard its own (a wait that registers
            // after its job's event would otherwise wait for its 60 s poll).
            let announcer = Task {
                while !Task.isCancelled {
                    for id in ids.reversed() { try? await broker.publish(EventEnvelope(type: PipelineEvent.jobCompleted, jobID: id)) }
                    #expect(await broker.subscriberCount <= 1)
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }
            var ended: Set<String> = []
            for try await id in group { ended.insert(id) }
            announcer.cancel()
            #expect(ended == Set(ids))
        }
        #expect(await eventually(timeout: .seconds(10)) { await broker.subscriberCount == 0 }, "unsubscribed after the last wait")
    }
}
