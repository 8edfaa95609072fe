/// Keys of the string-to-string `metadata` map that every task and event message carries, so that
/// correlation and trace context cross process boundaries with the message.
package enum MessageMetadataKey {
    package static let requestID = "request_id"
    package static let jobID = "job_id"
    package static let taskID = "task_id"
    /// A realtime session (`sess_` + 16 hex digits).
    package static let sessionID = "session_id"
    /// W3C trace context, filled by tracing.
    package static let traceparent = "traceparent"
    package static let tracestate = "tracestate"
}
