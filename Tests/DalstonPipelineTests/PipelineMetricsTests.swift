import DalstonBroker
import DalstonMetrics
import DalstonPipeline
import DalstonTestSupport
import Foundation
import Testing

@Suite("Pipeline metrics")
struct PipelineMetricsTests {
    func exposition(_ metrics: MetricsRuntime) async throws -> Exposition {
        Exposition(try #require(await metrics.exposition?.render()))
    }

    @Test func aRetriedThenCompletedJobIsCountedByEngineOrchestratorAndQueue() async throws {
        let metrics = MetricsRuntime.standalone(service: "dalston")
        // audio-prepare fails once (retryable), then everything succeeds.
        let harness = try PipelineHarness(engines: [
            FlakyEngine(engineID: "audio-prepare", failures: 1, permanent: false),
            FlakyEngine(engineID: "transcribe", failures: 0, permanent: false),
            FlakyEngine(engineID: "merge", failures: 0, permanent: false),
        ], metrics: metrics)
        try await withTeardown({ await harness.stop() }) {
            let job = try await harness.jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_metrics"))
            #expect(try await harness.waitForFinalState(job.id).status == .completed)
            // The completion event may still be on its way to the counters.
            #expect(await eventually { (try? await exposition(metrics).value("dalston_orchestrator_jobs_total", ["status": "completed"])) == 1 })

            let values = try await exposition(metrics)
            let engine = ["service": "engine"]
            #expect(values.value("dalston_engine_tasks_processed_total", engine.merging(["engine_id": "audio-prepare", "status": "failed"]) { $1 }) == 1)
            #expect(values.value("dalston_engine_tasks_processed_total", engine.merging(["engine_id": "audio-prepare", "status": "completed"]) { $1 }) == 1)
            #expect(values.value("dalston_engine_tasks_processed_total", ["engine_id": "transcribe", "status": "completed"]) == 1)
            #expect(values.value("dalston_engine_task_duration_seconds_count", ["engine_id": "audio-prepare"]) == 2, "failed attempts are timed too")
            #expect(values.value("dalston_engine_queue_wait_seconds_count", ["engine_id": "merge"]) == 1)
            #expect((values.value("dalston_engine_busy_seconds_total", ["engine_id": "transcribe"]) ?? -1) >= 0)

            let orchestrator = ["service": "orchestrator"]
            #expect(values.value("dalston_orchestrator_tasks_scheduled_total", orchestrator.merging(["engine_id": "audio-prepare", "stage": "prepare"]) { $1 }) == 2,
                    "the first attempt and the retry")
            #expect(values.value("dalston_orchestrator_task_retries_total", ["engine_id": "audio-prepare"]) == 1)
            #expect(values.value("dalston_orchestrator_tasks_completed_total", ["engine_id": "audio-prepare", "status": "failed"]) == 1)
            #expect(values.value("dalston_orchestrator_tasks_completed_total", ["engine_id": "merge", "status": "completed"]) == 1)
            #expect(values.value("dalston_orchestrator_job_duration_seconds_count", ["status": "completed"]) == 1)
            // prepare's retry completed, then transcribe and merge: three completions, one failure.
            #expect(values.value("dalston_orchestrator_events_processed_total", ["event_type": "task_completed"]) == 3)
            #expect(values.value("dalston_orchestrator_events_processed_total", ["event_type": "task_failed"]) == 1)
            #expect(values.value("dalston_orchestrator_event_lag_seconds_count", ["event_type": "task_completed"]) == 3)
            #expect((values.value("dalston_orchestrator_scheduling_latency_seconds_count") ?? 0) >= 2, "transcribe and merge became ready on events")
        }
    }

    @Test func aPermanentFailureAndACancellationAreCountedByStatus() async throws {
        let metrics = MetricsRuntime.standalone(service: "dalston")
        let failingHarness = try PipelineHarness(engines: [FlakyEngine(engineID: "audio-prepare", failures: 1, permanent: true)], metrics: metrics)
        try await withTeardown({ await failingHarness.stop() }) {
            let failing = try await failingHarness.jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_fail"))
            #expect(try await failingHarness.waitForFinalState(failing.id).status == .failed)
            // A second pipeline (same registry) without a transcribe engine: its job waits there until cancelled.
            let harness = try PipelineHarness(engines: [FlakyEngine(engineID: "audio-prepare", failures: 0, permanent: false)], metrics: metrics)
            try await withTeardown({ await harness.stop() }) {
                let waiting = try await harness.jobs.submit(JobSubmission(audio: [0], filename: "x.wav", requestID: "req_cancel"))
                #expect(await eventually { (try? await harness.jobs.job(waiting.id))?.currentStage == "transcribe" })
                _ = try await harness.jobs.requestCancel(waiting.id, requestID: "req_cancel")
                #expect(try await harness.waitForFinalState(waiting.id).status == .cancelled)
                #expect(await eventually { (try? await exposition(metrics).value("dalston_orchestrator_jobs_total", ["status": "cancelled"])) == 1 })
                let values = try await exposition(metrics)
                #expect(values.value("dalston_orchestrator_jobs_total", ["status": "failed"]) == 1)
                #expect(values.value("dalston_orchestrator_jobs_total", ["status": "completed"]) == 0, "statuses start at 0, not missing")
                #expect(values.value("dalston_orchestrator_task_retries_total", ["engine_id": "audio-prepare"]) == 0, "permanent errors are not retried")
            }
        }
    }
}
