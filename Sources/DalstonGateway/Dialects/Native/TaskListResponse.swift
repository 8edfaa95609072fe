import DalstonCore
import DalstonPipeline
import Foundation
import Hummingbird

/// `GET /v1/audio/transcriptions/{id}/tasks`: the job's graph as it ran, in the original API's
/// shape (`{job_id, tasks: [{task_id, stage, engine_id, status, required, dependencies,
/// started_at, completed_at, duration_ms, retries, error}]}`) with what Dalston knows besides:
/// attempts, when each task was queued and how long it waited, the worker that ran it.
struct TaskListResponse: ResponseEncodable {
    struct Task: Encodable {
        let taskID: String
        let stage: String
        let engineID: String
        /// `waiting` (for its inputs), `queued`, `running`, `retry_pending`, `completed`, `failed`, `cancelled`.
        let status: String
        var required = true
        /// The task ids whose outputs it reads.
        let dependencies: [String]
        let attempts: Int
        let retries: Int
        let queuedAt: String?
        let startedAt: String?
        let completedAt: String?
        /// From its (latest) queuing to a worker starting it.
        let queueWaitMS: Int?
        /// The engine's time on its latest attempt.
        let durationMS: Int?
        let workerID: String?
        let error: String?

        enum CodingKeys: String, CodingKey {
            case stage, status, required, dependencies, attempts, retries, error
            case taskID = "task_id"
            case engineID = "engine_id"
            case queuedAt = "queued_at"
            case startedAt = "started_at"
            case completedAt = "completed_at"
            case queueWaitMS = "queue_wait_ms"
            case durationMS = "duration_ms"
            case workerID = "worker_id"
        }
    }

    let jobID: String
    let tasks: [Task]

    enum CodingKeys: String, CodingKey {
        case tasks
        case jobID = "job_id"
    }

    /// The planned graph (every stage, scheduled or not) with each task's recorded state.
    init(_ job: JobRecord, graph: JobGraph) {
        jobID = job.id
        tasks = graph.tasks.map { planned in
            let state = job.tasks[planned.stage]
            let report = state?.currentReport
            let started = report.flatMap { report in report.durationSeconds.map { report.reportedAt.addingTimeInterval(-$0) } }
            let wait = started.flatMap { started in state?.queuedAt.map { max(0, started.timeIntervalSince($0)) } }
            var error: String?
            switch report?.outcome {
            case .failed(let failure): error = failure.message
            case .deadLettered(let reason): error = reason
            default: break
            }
            return Task(
                taskID: planned.taskID, stage: planned.stage, engineID: planned.engineID,
                status: (state?.status ?? (job.status == .cancelled ? .cancelled : .waiting)).rawValue,
                dependencies: planned.inputs.map { "\(job.id)_\($0)" }, attempts: state == nil ? 0 : state?.attempt ?? 0,
                retries: max(0, (state?.attempt ?? 1) - 1), queuedAt: state?.queuedAt.map(Timestamp.string), startedAt: started.map(Timestamp.string),
                completedAt: state?.completedAt.map(Timestamp.string), queueWaitMS: wait.map { Int(($0 * 1000).rounded()) },
                durationMS: report?.durationSeconds.map { Int(($0 * 1000).rounded()) }, workerID: report?.workerID, error: error)
        }
    }
}
