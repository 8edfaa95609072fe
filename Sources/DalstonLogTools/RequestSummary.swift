import Foundation

/// Per request: how long it took end to end, each stage's time, the slowest step, and the errors.
package struct RequestSummary {
    package struct Stage {
        package let jobID: String
        package let stage: String
        package let seconds: Double
        package let attempts: Int
        package let outcome: String
    }

    package let requestID: String
    package let lines: Int
    package let seconds: Double
    package let jobs: [String: String]
    package let stages: [Stage]
    package let errors: [String]

    /// One summary per request id among `entries`.
    package static func summaries(_ entries: [LogEntry]) -> [RequestSummary] {
        var byRequest: [String: [(LogEntry, [String: Any])]] = [:]
        var order: [String] = []
        for entry in entries {
            let object = TimelineRenderer.object(entry.raw)
            let request = object["request_id"] as? String ?? "(no request_id)"
            if byRequest[request] == nil { order.append(request) }
            byRequest[request, default: []].append((entry, object))
        }
        return order.map { request in summary(request, byRequest[request] ?? []) }
    }

    static func summary(_ request: String, _ lines: [(LogEntry, [String: Any])]) -> RequestSummary {
        let dates = lines.compactMap { TimelineRenderer.date($0.0.timestamp) }
        var jobs: [String: String] = [:]
        var started: [String: (Date, Int)] = [:]
        var stages: [Stage] = []
        var errors: [String] = []
        for (entry, object) in lines {
            let event = object["event"] as? String ?? ""
            let job = object["job_id"] as? String
            if let job {
                switch event {
                case "job_created": jobs[job] = jobs[job] ?? "created"
                case "job_completed", "job_failed", "job_cancelled": jobs[job] = String(event.dropFirst(4))
                default: if jobs[job] == nil { jobs[job] = "seen" }
                }
            }
            if let stage = object["stage"] as? String, let job, let date = TimelineRenderer.date(entry.timestamp) {
                let key = "\(job)/\(stage)"
                switch event {
                case "task_started":
                    started[key] = (date, (object["attempt"] as? Int) ?? ((started[key]?.1 ?? 0) + 1))
                case "task_completed", "task_failed":
                    let seconds = (object["duration_seconds"] as? Double) ?? started[key].map { date.timeIntervalSince($0.0) } ?? 0
                    stages.append(Stage(jobID: job, stage: stage, seconds: seconds, attempts: started[key]?.1 ?? 1, outcome: event == "task_completed" ? "completed" : "failed"))
                default: break
                }
            }
            let level = object["level"] as? String ?? ""
            if level == "error" || level == "critical" {
                let message = (object["error"] as? [String: Any])?["message"] as? String ?? (object["error"] as? String) ?? ""
                errors.append(TimelineRenderer.clean("\(TimelineRenderer.source(object)) \(event)\(message.isEmpty ? "" : ": \(message)")"))
            }
        }
        let seconds = (dates.max() ?? Date()).timeIntervalSince(dates.min() ?? Date())
        return RequestSummary(requestID: request, lines: lines.count, seconds: seconds, jobs: jobs, stages: stages, errors: errors)
    }

    package var text: String {
        var out = "request \(TimelineRenderer.clean(requestID)): \(lines) lines over \(String(format: "%.3f", seconds)) s\n"
        for (job, state) in jobs.sorted(by: { $0.key < $1.key }) { out += "  job \(TimelineRenderer.clean(job)): \(state)\n" }
        for stage in stages {
            out += "  stage \(TimelineRenderer.clean(stage.stage)) (\(TimelineRenderer.clean(stage.jobID))): \(String(format: "%.3f", stage.seconds)) s, \(stage.outcome)\(stage.attempts > 1 ? ", attempt \(stage.attempts)" : "")\n"
        }
        if let slowest = stages.max(by: { $0.seconds < $1.seconds }) {
            out += "  slowest step: \(TimelineRenderer.clean(slowest.stage)) (\(String(format: "%.3f", slowest.seconds)) s)\n"
        }
        out += errors.isEmpty ? "  errors: none\n" : "  errors (\(errors.count)):\n" + errors.map { "    \($0)\n" }.joined()
        return out
    }
}
