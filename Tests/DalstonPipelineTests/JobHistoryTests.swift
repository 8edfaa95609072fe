import DalstonBroker
import DalstonEngineSDK
import DalstonPipeline
import DalstonRecords
import DalstonRecordsSQLite
import DalstonRuntime
import DalstonTestSupport
import Foundation
import Logging
import Testing

/// The record database's copy of a finished job is the whole record: every task's state and its
/// engine's report, not only what the last step changed.
@Suite("Job history")
struct JobHistoryTests {
    @Test func aFinishedJobsHistoryKeepsEveryTasksOutcome() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-history-\(UUID().uuidString)")
        let records = try await RecordStore.open(
            try await SQLiteRecordDatabase.open(path: directory.appendingPathComponent("dalston.sqlite").path, logger: Logger(label: "test")),
            logger: Logger(label: "test"))
        var registry = EngineRegistry()
        for id in ["audio-prepare", "transcribe", "merge"] {
            let engine = FlakyEngine(engineID: id, failures: 0, permanent: false)
            registry.register(.init(id) { _ in engine })
        }
        var deployment = Deployment(broker: InMemoryBroker(), artifacts: FileArtifactStore(root: directory.appendingPathComponent("data")), engines: registry)
        deployment.records = records
        deployment.runnerOptions.pollInterval = .milliseconds(200)
        let running = try deployment.start([.orchestrator] + registry.engineIDs.map { .engine($0) })
        try await withTeardown({
            await running.stop()
            await records.close()
        }) {
            let jobs = deployment.jobService()
            let job = try await jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_history"))
            #expect(try await jobs.waitForFinalState(job.id, timeout: .seconds(60))?.status == .completed)
            let stored = try #require(try await records.jobs.fields(of: job.id).flatMap(JobRecord.init(fields:)))
            #expect(stored.status == .completed)
            for stage in ["prepare", "transcribe", "merge"] {
                let task = try #require(stored.tasks[stage], "\(stage) missing from the history")
                #expect(task.status == .completed && task.queuedAt != nil && task.completedAt != nil, "\(stage): \(task)")
                #expect(task.workerID?.hasPrefix(stage == "prepare" ? "audio-prepare" : stage) == true, "\(stage)'s report is kept")
            }
        }
    }
}
