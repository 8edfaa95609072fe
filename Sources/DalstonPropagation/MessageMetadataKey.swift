/// Keys of the string-to-string `metadata` map that every task and event message carries, so that
/// correlation and trace context cross process boundaries with the message.
public enum MessageMetadataKey {
    public static let requestID = "request_id"
    public static let jobID = "job_id"
    public static let taskID = "task_id"
    /// A realtime session (`sess_` + 16 hex digits).
    public static let sessionID = "session_id"
    /// W3C trace context, filled by tracing.
    public static let traceparent = "traceparent"
    public static let tracestate = "tracestate"
}
