import DalstonBroker
import DalstonEngineSDK
import DalstonLogging
import DalstonPipeline
import DalstonRedis
import DalstonRuntime
import DalstonTestSupport
import Foundation
import Testing

/// Regression tests for defects found by probing (issue 16): each failed before its fix.
@Suite("Reliability")
struct ReliabilityTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case inMemory, redis
        var testDescription: String { rawValue }
        static var available: [Backend] { RedisServerProcess.shouldRun ? allCases : [.inMemory] }
    }

    private func broker(_ backend: Backend, _ options: BrokerOptions) async throws -> (any Broker, RedisServerProcess?) {
        switch backend {
        case .inMemory: return (InMemoryBroker(options: options), nil)
        case .redis:
            let server = try await RedisServerProcess()
            return (RedisBroker(client: RedisClient(configuration: server.configuration), options: options), server)
        }
    }

    private func artifacts() -> FileArtifactStore {
        FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-reliability-\(UUID().uuidString)"))
    }

    /// A task whose every worker dies (here: takes it and never answers) is dead-lettered after
    /// the maximum deliveries, and its job fails with the reason instead of staying `running`.
    @Test(arguments: Backend.available)
    func aDeadLetteredTaskFailsItsJob(backend: Backend) async throws {
        var options = BrokerOptions()
        options.visibilityTimeout = .milliseconds(300)
        options.maximumDeliveries = 2
        let (broker, server) = try await broker(backend, options)
        try await withTeardown({ await broker.shutdown(); _ = server }) {
            let deployment = Deployment(broker: broker, artifacts: artifacts())
            let orchestrator = try deployment.start([.orchestrator])
            try await withTeardown({ await orchestrator.stop() }) {
                let jobs = deployment.jobService()
                let job = try await jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_poison"))
                // Workers that die with the task: receive it and never settle it.
                let dying = Task {
                    while !Task.isCancelled {
                        _ = try? await broker.receive(engine: "audio-prepare", consumer: "dying-\(UUID().uuidString.prefix(4))", waitUpTo: .milliseconds(200))
                    }
                }
                try await withTeardown({ dying.cancel(); _ = await dying.value }) {
                    let done = try #require(try await jobs.waitForFinalState(job.id, timeout: .seconds(30)))
                    #expect(done.status == .failed, "the job did not stay running")
                    #expect(done.error?.contains("given up after 2 deliveries") == true, "\(done.error ?? "")")
                    #expect(try await broker.queueStats(engine: "audio-prepare").deadLettered == 1)
                }
            }
        }
    }

    /// A job whose record stops changing (its task lost without a trace) fails after the stall
    /// timeout.
    @Test func aJobThatMakesNoProgressFailsAfterTheStallTimeout() async throws {
        let broker = InMemoryBroker()
        try await withTeardown({ await broker.shutdown() }) {
            var deployment = Deployment(broker: broker, artifacts: artifacts())
            deployment.orchestratorOptions.stallTimeout = .seconds(1)
            deployment.orchestratorOptions.sweepInterval = .milliseconds(200)
            let running = try deployment.start([.orchestrator])  // no engine takes the task
            try await withTeardown({ await running.stop() }) {
                let jobs = deployment.jobService()
                let job = try await jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_stall"))
                let done = try #require(try await jobs.waitForFinalState(job.id, timeout: .seconds(20)))
                #expect(done.status == .failed)
                #expect(done.error?.contains("no progress for 1 s at the prepare stage") == true, "\(done.error ?? "")")
            }
        }
    }

    /// With a visibility timeout well under the old fixed 10 s renewal, a long task is renewed
    /// in time and runs once.
    @Test func aShortVisibilityTimeoutDoesNotCauseDuplicateProcessing() async throws {
        var options = BrokerOptions()
        // Well under the old fixed 10 s renewal, with 4 s of slack for a starved CI machine (at
        // 3 s, a renewal once came too late while every suite started at once).
        options.visibilityTimeout = .seconds(6)
        let broker = InMemoryBroker(options: options)
        try await withTeardown({ await broker.shutdown() }) {
            var registry = EngineRegistry()
            registry.register(.init("slow") { _ in SlowEngine(engineID: "slow", duration: .seconds(14)) })
            let logs = RecordingLineWriter()
            let pipeline = LogPipeline(configuration: LoggingConfiguration(service: "test", levels: LogLevelPolicy(defaultLevel: .info), writer: logs))
            var deployment = Deployment(broker: broker, artifacts: artifacts(), engines: registry)
            #expect(deployment.runnerOptions.leaseRenewalInterval == .seconds(2), "a third of the visibility timeout")
            deployment.makeLogger = { pipeline.makeLogger(label: $0) }
            deployment.runnerOptions.pollInterval = .milliseconds(100)
            let events = broker.events()
            #expect(await events.waitUntilReady(timeout: .seconds(30)))
            // Two workers, so a lapsed lease would hand the task to the other at once.
            let first = try deployment.start([.engine("slow")])
            let second = try deployment.start([.engine("slow")])
            try await withTeardown({ await first.stop(); await second.stop() }) {
                try await broker.enqueue(TaskEnvelope(taskID: "task_slow", jobID: "job_slow", engineID: "slow", stage: "slow", metadata: ["request_id": "req_slow"]))
                for await event in events where event.taskID == "task_slow" {
                    #expect(event.type == PipelineEvent.taskCompleted)
                    break
                }
                #expect(logs.lines.filter { $0.contains("\"task_started\"") }.count == 1, "the task ran once")
            }
        }
    }

    /// A cancel accepted while no orchestrator runs is kept on the job and honoured by the
    /// orchestrator that sees the job next: the job ends cancelled, never completed.
    @Test func aCancelAcceptedWhileNoOrchestratorRunsIsHonouredLater() async throws {
        let broker = InMemoryBroker()
        try await withTeardown({ await broker.shutdown() }) {
            var registry = EngineRegistry()
            for engine in ["audio-prepare", "transcribe", "merge"] {
                registry.register(.init(engine) { _ in FlakyEngine(engineID: engine, failures: 0, permanent: false) })
            }
            var deployment = Deployment(broker: broker, artifacts: artifacts(), engines: registry)
            deployment.orchestratorOptions.sweepInterval = .milliseconds(200)
            deployment.runnerOptions.pollInterval = .milliseconds(100)
            let jobs = deployment.jobService()
            let job = try await jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_cancel_offline"))
            let accepted = try #require(try await jobs.requestCancel(job.id, requestID: "req_cancel_offline"))
            #expect(accepted.status == .pending)
            #expect(try await jobs.store.job(job.id)?.cancelRequested == true, "the cancel is on the job's record")
            let running = try deployment.start([.orchestrator] + registry.engineIDs.map { .engine($0) })
            try await withTeardown({ await running.stop() }) {
                let done = try #require(try await jobs.waitForFinalState(job.id, timeout: .seconds(20)))
                #expect(done.status == .cancelled)
            }
        }
    }
}
