import DalstonBroker
import DalstonEngineSDK
import DalstonOrchestrator
import DalstonPipeline
import DalstonTestSupport
import Foundation
import Testing

/// An engine that takes its time (and notices cancellation), for shutdown and restart tests.
struct SlowEngine: Engine {
    let engineID: String
    let duration: Duration

    func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        try await Task.sleep(for: duration)
        return ["slept": .bool(true)]
    }
}

@Suite("Resilience")
struct ResilienceTests {
    @Test func aRestartedOrchestratorFinishesJobsWhoseEventsItMissed() async throws {
        let broker = InMemoryBroker()
        let artifacts = ArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-restart-\(UUID().uuidString)"))
        let jobs = JobService(broker: broker, artifacts: artifacts)
        var options = EngineRunnerOptions()
        options.pollInterval = .milliseconds(100)
        let runnerOptions = options
        let engines: [any Engine] = [
            FlakyEngine(engineID: "audio-prepare", failures: 0, permanent: false),
            SlowEngine(engineID: "transcribe", duration: .milliseconds(800)),
            FlakyEngine(engineID: "merge", failures: 0, permanent: false),
        ]
        let runners = engines.map { engine in
            Task { await EngineRunner(engine: engine, broker: broker, artifacts: artifacts, options: runnerOptions).run() }
        }
        defer { runners.forEach { $0.cancel() } }
        var orchestratorOptions = OrchestratorOptions()
        orchestratorOptions.sweepInterval = .seconds(60)  // only the start-up sweep may rescue the job
        let sweepOnlyAtStart = orchestratorOptions
        let first = Task { await Orchestrator(broker: broker, options: sweepOnlyAtStart).run() }

        let job = try await jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_restart"))
        #expect(await eventually { (try? await jobs.job(job.id))?.currentStage == "transcribe" })
        first.cancel()
        await first.value
        // While no orchestrator runs, transcribe finishes and publishes task_completed to nobody.
        #expect(await eventually { (try? await broker.state(.task("\(job.id)_transcribe")))?[TaskField.status] == "completed" })
        #expect(try await jobs.job(job.id)?.status == .running)

        let second = Task { await Orchestrator(broker: broker, options: sweepOnlyAtStart).run() }
        defer { second.cancel() }
        #expect(await eventually(timeout: .seconds(30)) { (try? await jobs.job(job.id))?.status == .completed }, "the new orchestrator picked up from the broker's state")
    }

    /// A broker with one task, and a runner that has started working on it.
    private func runnerWorking(on taskID: String, for work: Duration, grace: Duration) async throws -> (InMemoryBroker, Task<Void, Never>) {
        let broker = InMemoryBroker()
        let artifacts = ArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-grace-\(UUID().uuidString)"))
        try await broker.enqueue(TaskEnvelope(taskID: taskID, jobID: "job_\(taskID)", engineID: "transcribe", stage: "transcribe", metadata: ["request_id": "req_grace"]))
        var settings = EngineRunnerOptions()
        settings.pollInterval = .milliseconds(100)
        settings.shutdownGracePeriod = grace
        let options = settings
        let runner = Task { await EngineRunner(engine: SlowEngine(engineID: "transcribe", duration: work), broker: broker, artifacts: artifacts, options: options).run() }
        #expect(await eventually { (try? await broker.state(.task(taskID)))?[TaskField.status] == "running" })
        return (broker, runner)
    }

    @Test func onShutdownAnEngineFinishesTheTaskInHandWithinTheGracePeriod() async throws {
        let (broker, runner) = try await runnerWorking(on: "t1", for: .milliseconds(600), grace: .seconds(5))
        runner.cancel()
        await runner.value
        #expect(try await broker.state(.task("t1"))[TaskField.status] == "completed", "the task in hand was finished, not dropped")
        #expect(try await broker.queueStats(engine: "transcribe") == QueueStats(waiting: 0, inFlight: 0, deadLettered: 0, oldestAge: nil))
    }

    @Test func aTaskThatCannotFinishWithinTheGracePeriodIsRequeued() async throws {
        let (broker, runner) = try await runnerWorking(on: "t2", for: .seconds(30), grace: .milliseconds(200))
        let stopping = ContinuousClock.now
        runner.cancel()
        await runner.value
        #expect(ContinuousClock.now - stopping < .seconds(10), "shutdown waits for the grace period only")
        let stats = try await broker.queueStats(engine: "transcribe")
        #expect(stats.waiting == 1 && stats.inFlight == 0, "the task went back on the queue for another worker")
    }
}

@Suite("Orchestrator concurrency")
struct OrchestratorConcurrencyTests {
    @Test func eventsArrivingTogetherForOneJobEnqueueEachTaskOnce() async throws {
        let broker = InMemoryBroker()
        defer { Task { await broker.shutdown() } }
        let artifacts = ArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-race-\(UUID().uuidString)"))
        let jobs = JobService(broker: broker, artifacts: artifacts)
        // Nobody listens yet: the job_created event is replayed below, many times at once.
        let job = try await jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_race"))
        let orchestrator = Orchestrator(broker: broker)
        let event = EventEnvelope(type: PipelineEvent.jobCreated, jobID: job.id, metadata: [MessageMetadataKey.requestID: "req_race"])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { await orchestrator.handle(event) } }
            group.addTask { await orchestrator.sweep() }
        }
        #expect(try await broker.queueStats(engine: "audio-prepare").waiting == 1, "the prepare task was enqueued once")
    }
}
