import DalstonBroker
import DalstonEngineSDK
import DalstonEngines
import DalstonLogging
import DalstonPipeline
import DalstonRuntime
import DalstonTestSupport
import Foundation
import Testing

/// A toy engine that exists only in this file: adding it to Dalston takes the type and one
/// registration, nothing else.
struct ShoutEngine: Engine {
    let engineID = "shout"

    func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        context.logger.info("shouting")
        return ["text": .string(try task.input.requiredString("text").uppercased())]
    }
}

@Suite("Engine registry")
struct EngineRegistryTests {
    @Test func aNewEngineRunsThroughTheRegistryAlone() async throws {
        var registry = EngineRegistry.builtIn
        registry.register(.init("shout") { _ in ShoutEngine() })
        #expect(registry.engineIDs.suffix(1) == ["shout"])

        let broker = InMemoryBroker()
        let logs = RecordingLineWriter()
        let pipeline = LogPipeline(configuration: LoggingConfiguration(service: "test", levels: LogLevelPolicy(defaultLevel: .info), writer: logs))
        var deployment = Deployment(
            broker: broker, artifacts: FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-toy-\(UUID().uuidString)")),
            engines: registry)
        deployment.makeLogger = { pipeline.makeLogger(label: $0) }
        deployment.runnerOptions.pollInterval = .milliseconds(100)
        let running = try deployment.start([.engine("shout")])
        try await withTeardown({ await running.stop() }) {
            let events = broker.events()
            #expect(await events.waitUntilReady(timeout: .seconds(30)))
            try await broker.enqueue(TaskEnvelope(
                taskID: "task_shout", jobID: "job_shout", engineID: "shout", stage: "shout", input: ["text": "hello"],
                metadata: ["request_id": "req_shout"]))
            var outcome: EventEnvelope?
            for await event in events where event.taskID == "task_shout" {
                outcome = event
                break
            }
            #expect(outcome?.type == PipelineEvent.taskCompleted)
            #expect(outcome?.data["output"] == .object(["text": "HELLO"]))
            #expect(logs.lines.contains { $0.contains("\"shouting\"") && $0.contains("\"request_id\":\"req_shout\"") && $0.contains("\"task_id\":\"task_shout\"") },
                    "the runner bound the task's correlation fields for the toy engine's lines")
        }
    }

    @Test func anUnknownOrUnavailableEngineIsAClearError() throws {
        var registry = EngineRegistry.builtIn
        registry.register(.init("gpu-whisper", unavailableReason: "no GPU in this build") { _ in ShoutEngine() })
        #expect(throws: EngineRegistryError.self) { try registry.make("nope", environment: [:]) }
        do {
            _ = try registry.make("gpu-whisper", environment: [:])
            Issue.record("an unavailable engine was made")
        } catch {
            #expect(error.description == "engine gpu-whisper cannot run: no GPU in this build")
        }
        #expect(!registry.availableEngineIDs.contains("gpu-whisper"))
    }
}
