import DalstonLogging
package import Logging
import ServiceContextModule
import Tracing

/// What a consumer of a message (an event, a task, later a realtime session) does before any
/// work: bind the message's correlation fields for every log line below, and continue the
/// producer's trace. One place, so every consumer warns about a missing `request_id` or an
/// unusable `traceparent` the same way and never drops the message over it.
package enum IncomingMessageContext {
    /// Runs `body` with `request_id`, `job_id` and `task_id` from `metadata` (plus `fields`)
    /// bound as log context and the producer's trace as the current trace context.
    ///
    /// - Parameter requiresRequestID: warn `message_without_request_id` when the message has none
    ///   (every message caused by an API request should carry one).
    package static func with<Result>(
        _ metadata: [String: String], fields: Logger.Metadata = [:], requiresRequestID: Bool = true, logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async rethrows -> Result {
        var bound = fields
        for key in [MessageMetadataKey.requestID, MessageMetadataKey.jobID, MessageMetadataKey.taskID] {
            if let value = metadata[key], !value.isEmpty, bound[key] == nil { bound[key] = "\(value)" }
        }
        return try await withLogContext(bound, isolation: isolation) {
            if requiresRequestID && (metadata[MessageMetadataKey.requestID]?.isEmpty ?? true) {
                logger.warning("message_without_request_id")
            }
            let (traceContext, problem) = MessageTracing.extract(from: metadata)
            if let problem {
                logger.warning("trace_context_unusable", metadata: ["reason": "\(problem)", "action": "starting a new trace"])
            }
            return try await ServiceContext.withValue(traceContext, isolation: isolation) {
                try await body()
            }
        }
    }
}
