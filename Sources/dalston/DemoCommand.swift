import ArgumentParser
import DalstonLogging
import DalstonObservability
import Logging

/// Walks simulated jobs through the stages of the pipeline so that the log output (format,
/// context binding, redaction, errors) can be seen before the real services exist.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Log the life of a few simulated jobs through Dalston's logging pipeline."
    )

    @Option(help: "How many jobs to simulate concurrently.")
    var jobs: Int = 2

    func validate() throws {
        guard (1...1000).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 1000") }
    }

    func run() async throws {
        let logger = Observability.configureOrExit(service: "demo").logger
        logger.info("demo_started", metadata: ["jobs": .stringConvertible(jobs)])
        await withTaskGroup(of: Void.self) { group in
            for number in 1...jobs {
                group.addTask { Self.simulateJob(number: number, fails: number == jobs && jobs > 1) }
            }
        }
        logger.info("demo_finished", metadata: ["jobs": .stringConvertible(jobs)])
    }

    private static func simulateJob(number: Int, fails: Bool) {
        let requestID = "req_demo\(number)"
        let jobID = "job_demo\(number)"
        let gateway = Logger(label: "dalston.gateway")
        withLogContext(["request_id": "\(requestID)"]) {
            gateway.info("http_request_received", metadata: [
                "method": "POST", "path": "/v1/audio/transcriptions",
                "authorization": "Bearer sk-live-should-never-appear",
            ])
            withLogContext(["job_id": "\(jobID)"]) {
                gateway.info("job_created", metadata: ["audio_bytes": .stringConvertible(320_044), "language": "en"])
                let stages: [(stage: String, engine: String)] = [("prepare", "audio-prepare"), ("transcribe", "pocketsphinx"), ("merge", "merge")]
                for (index, step) in stages.enumerated() {
                    let failed = fails && step.stage == "transcribe"
                    runTask(index: index, stage: step.stage, engine: step.engine, jobID: jobID, fails: failed)
                    if failed {
                        Logger(label: "dalston.orchestrator").error("job_failed", metadata: ["stage": "\(step.stage)"])
                        return
                    }
                }
                Logger(label: "dalston.orchestrator").info("job_completed", metadata: [
                    "processing_time_seconds": .stringConvertible(1.25), "word_count": .stringConvertible(9),
                ])
            }
        }
    }

    private static func runTask(index: Int, stage: String, engine: String, jobID: String, fails: Bool) {
        let taskID = "\(jobID)_task\(index + 1)"
        withLogContext(["task_id": "\(taskID)", "engine_id": "\(engine)"]) {
            let engineLogger = Logger(label: "dalston.engine.\(engine)")
            engineLogger.info("task_started", metadata: ["stage": "\(stage)", "attempt": .stringConvertible(1)])
            // A library that knows nothing about Dalston still gets the bound context.
            Logger(label: "demo.thirdparty").notice("library_call", metadata: ["cache_hit": .stringConvertible(index % 2 == 0)])
            if fails {
                engineLogger.error("task_failed", error: DemoEngineError.modelMissing(path: "/usr/share/pocketsphinx/model/en-us"))
            } else {
                engineLogger.info("task_completed", metadata: ["duration_seconds": .stringConvertible(0.042 * Double(index + 1))])
            }
        }
    }
}

enum DemoEngineError: Error, CustomStringConvertible {
    case modelMissing(path: String)

    var description: String {
        switch self {
        case .modelMissing(let path): "acoustic model not found at \(path); install pocketsphinx-en-us"
        }
    }
}
