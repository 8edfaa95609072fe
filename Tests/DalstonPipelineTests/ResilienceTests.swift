import DalstonBroker
import DalstonEngineSDK
import DalstonOrchestrator
import DalstonPipeline
import DalstonPropagation
import DalstonRuntime
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
        var registry = EngineRegistry()
        registry.register(.init("audio-prepare") { _ in FlakyEngine(engineID: "audio-prepare", failures: 0, permanent: false) })
        registry.register(.init("transcribe") { _ in SlowEngine(engineID: "transcribe", duration: .milliseconds(800)) })
        registry.register(.init("merge") { _ in FlakyEngine(engineID: "merge", failures: 0, permanent: false) })
        var deployment = Deployment(
            broker: broker, artifacts: FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-restart-\(UUID().uuidString)")),
            engines: registry)
        deployment.runnerOptions.pollInterval = .milliseconds(100)
        deployment.orchestratorOptions.sweepInterval = .seconds(60)  // only the start-up sweep may rescue the job
        let configured = deployment
        let engines = try configured.start(registry.engineIDs.map { .engine($0) })
        try await withTeardown({ await engines.stop() }) {
            let jobs = configured.jobService()
            let first = Task { await configured.orchestrator().run() }
            let job = try await jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_restart"))
            #expect(await eventually { (try? await jobs.job(job.id))?.currentStage == "transcribe" })
            first.cancel()
            await first.value
            // While no orchestrator runs, transcribe finishes and announces it to nobody; its
            // outcome waits in the job's record.
            #expect(await eventually { (try? await jobs.store.job(job.id))?.tasks["transcribe"]?.report?.eventType == PipelineEvent.taskCompleted })
            #expect(try await jobs.job(job.id)?.status == .running)

            let second = Task { await configured.orchestrator().run() }
            try await withTeardown({ second.cancel(); await second.value }) { () async throws in
                #expect(try await jobs.waitForFinalState(job.id, timeout: .seconds(30))?.status == .completed, "the new orchestrator picked up from the record")
            }
        }
    }

    /// A broker with one task, and a runner that has started working on it.
    private func runnerWorking(on taskID: String, for work: Duration, grace: Duration) async throws -> (InMemoryBroker, Task<Void, Never>) {
        let broker = InMemoryBroker()
        let artifacts = FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-grace-\(UUID().uuidString)"))
        try await broker.enqueue(TaskEnvelope(taskID: taskID, jobID: "job_\(taskID)", engineID: "transcribe", stage: "transcribe", metadata: ["request_id": "req_grace"]))
        var settings = EngineRunnerOptions()
        settings.pollInterval = .milliseconds(100)
        settings.shutdownGracePeriod = grace
        let options = settings
        let runner = Task {
            await EngineRunner(
                engine: SlowEngine(engineID: "transcribe", duration: work), queue: broker, state: broker, events: broker, workers: broker,
                artifacts: artifacts, options: options).run()
        }
        #expect(await eventually { (try? await broker.queueStats(engine: "transcribe"))?.inFlight == 1 })
        return (broker, runner)
    }

    @Test func onShutdownAnEngineFinishesTheTaskInHandWithinTheGracePeriod() async throws {
        let (broker, runner) = try await runnerWorking(on: "t1", for: .milliseconds(600), grace: .seconds(5))
        runner.cancel()
        await runner.value
        let report = try await broker.record(.job("job_t1"))[JobField.task("transcribe", .report)] ?? ""
        #expect(report.contains(PipelineEvent.taskCompleted), "the task in hand was finished and reported, not dropped")
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
        try await withTeardown({ await broker.shutdown() }) {
            let artifacts = FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-race-\(UUID().uuidString)"))
            let jobs = JobService(state: broker, events: broker, artifacts: artifacts)
            // Nobody listens yet: the job_created event is replayed below, many times at once, to
            // three orchestrators sharing the store (as three processes would share Redis).
            let job = try await jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_race"))
            let orchestrators = (0..<3).map { _ in Orchestrator(state: broker, events: broker) }
            let event = EventEnvelope(type: PipelineEvent.jobCreated, jobID: job.id, metadata: [MessageMetadataKey.requestID: "req_race"])
            await withTaskGroup(of: Void.self) { group in
                for orchestrator in orchestrators {
                    for _ in 0..<8 { group.addTask { await orchestrator.handle(event) } }
                    group.addTask { await orchestrator.sweep() }
                }
            }
            #expect(try await broker.queueStats(engine: "audio-prepare").waiting == 1, "the prepare task was enqueued once")
        }
    }
}
