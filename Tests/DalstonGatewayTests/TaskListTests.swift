@testable import DalstonGateway
import DalstonPipeline
import Foundation
import Testing

/// `GET …/{id}/tasks` from a job's record: every planned stage, its engine and dependencies, the
/// attempts, the wait in the queue and the engine's time, the failure of a retried attempt.
@Suite("Job tasks")
struct TaskListTests {
    @Test func eachStageShowsItsStateTimingsAndFailures() throws {
        let queued = Date(timeIntervalSince1970: 1_800_000_000)
        var job = JobRecord(id: "job_1", status: .running, requestID: "req_1", modelID: "faster-whisper-base")
        job.recognizer = EngineKind.whisper
        var prepare = TaskState()
        prepare.status = .completed
        prepare.queuedAt = queued
        prepare.completedAt = queued.addingTimeInterval(1.5)
        prepare.report = TaskReport(
            stage: "prepare", attempt: 1, outcome: .succeeded(output: [:]), workerID: "audio-prepare-1", durationSeconds: 0.5,
            reportedAt: queued.addingTimeInterval(1.5))
        var transcribe = TaskState()
        transcribe.status = .retryPending
        transcribe.attempt = 2
        transcribe.queuedAt = queued.addingTimeInterval(2)
        transcribe.report = TaskReport(
            stage: "transcribe", attempt: 2, outcome: .failed(TaskFailure(message: "the model runner died during the task", retryable: true)),
            workerID: "faster-whisper-1", durationSeconds: 0.25, reportedAt: queued.addingTimeInterval(3))
        job.tasks = ["prepare": prepare, "transcribe": transcribe]
        let response = TaskListResponse(job, graph: try JobGraph.plan(for: job))
        #expect(response.tasks.map(\.stage) == ["prepare", "transcribe", "merge"])
        #expect(response.tasks.map(\.engineID) == ["audio-prepare", "faster-whisper", "merge"])
        let first = response.tasks[0]
        #expect(first.status == "completed" && first.attempts == 1 && first.retries == 0)
        #expect(first.queueWaitMS == 1000 && first.durationMS == 500 && first.workerID == "audio-prepare-1")
        let second = response.tasks[1]
        #expect(second.status == "retry_pending" && second.attempts == 2 && second.retries == 1)
        #expect(second.error == "the model runner died during the task" && second.dependencies == ["job_1_prepare"])
        let third = response.tasks[2]
        #expect(third.status == "waiting" && third.attempts == 0 && third.startedAt == nil && third.dependencies == ["job_1_prepare", "job_1_transcribe"])
    }
}
