package import DalstonBroker
package import DalstonMetrics
import DalstonPropagation

/// A request an engine sends its runner: every one carries the task's correlation fields, and
/// the trace ids of the span it runs in, so the runner's log lines join the task's story.
package protocol RunnerRequest: Encodable, Sendable {
    var context: [String: String] { get set }
}

extension RunnerPool {
    /// One request to `model`'s runner, with its failures mapped to the pipeline's: a runner that
    /// cannot start fails the job with its reason; a refused request fails it when retrying
    /// cannot help; one that dies mid-task is retried like any engine failure; a cancelled
    /// task's runner is killed (its work stops) and a new one starts for the next task.
    package func call<Request: RunnerRequest, Reply: Decodable>(
        _ request: Request, model: String, replying: Reply.Type, metrics: Instruments
    ) async throws -> Reply {
        var request = request
        var carrier: [String: String] = [:]
        MessageTracing.inject(into: &carrier)
        if let traceparent = carrier[MessageMetadataKey.traceparent], let ids = TraceParent.ids(traceparent) {
            request.context["trace_id"] = ids.traceID
            request.context["span_id"] = ids.spanID
            request.context["traceparent"] = traceparent
        }
        let process: RunnerProcess
        do {
            process = try await runner(for: model, metrics: metrics)
        } catch {
            throw PermanentEngineError(error.description)
        }
        do {
            return try await process.call(request, replying: Reply.self)
        } catch .cancelled {
            discard(model, process: process, reason: "cancelled", metrics: metrics)
            throw CancellationError()
        } catch .requestFailed(let message, permanent: true) {
            throw PermanentEngineError(message)
        } catch .died(let reason) {
            discard(model, process: process, reason: "crashed", metrics: metrics)
            throw RunnerError.died(reason)
        } catch .protocolViolation(let reason) {
            // Its next line could be taken for the next task's reply: it does not serve again.
            discard(model, process: process, reason: "protocol_violation", metrics: metrics)
            throw RunnerError.protocolViolation(reason)
        } catch {
            throw error
        }
    }
}

extension TaskEnvelope {
    /// `job_id`, `task_id` and `request_id`, for a runner's log lines about this task.
    package var runnerContext: [String: String] {
        var context = ["job_id": jobID, "task_id": taskID]
        if let requestID = metadata[MessageMetadataKey.requestID], !requestID.isEmpty { context["request_id"] = requestID }
        return context
    }
}

extension Instruments {
    /// One inference of a runner: its duration, and the seconds of work and of audio it adds up to.
    package func recordRunnerInference(runner: String, model: String, seconds: Double, audioSeconds: Double) {
        let labels = [("runner", runner), ("model", model)]
        record(DalstonMetric.runnerInferenceDuration, labels, seconds: seconds)
        increment(DalstonMetric.runnerInferenceSeconds, labels, byFractional: seconds)
        increment(DalstonMetric.runnerAudioSeconds, labels, byFractional: audioSeconds)
    }
}
