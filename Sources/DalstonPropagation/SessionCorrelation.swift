/// Correlation and trace context of a realtime session, on the gateway's WebSocket upgrade to
/// its worker: the same fields every batch message carries in its metadata (`request_id`, the
/// W3C `traceparent` and `tracestate` of the current span), as HTTP headers, so that the worker
/// binds and continues them through `IncomingMessageContext` exactly as an engine does a task's.
package enum SessionCorrelation {
    /// Header names, by metadata key.
    static let headerNames: [(key: String, header: String)] = [
        (MessageMetadataKey.requestID, "x-request-id"),
        (MessageMetadataKey.sessionID, "x-dalston-session-id"),
        (MessageMetadataKey.traceparent, "traceparent"),
        (MessageMetadataKey.tracestate, "tracestate"),
    ]

    /// The headers for a session's upgrade, with the current span's trace context.
    package static func headers(requestID: String, sessionID: String) -> [(name: String, value: String)] {
        var metadata = [MessageMetadataKey.requestID: requestID, MessageMetadataKey.sessionID: sessionID]
        MessageTracing.inject(into: &metadata)
        return headerNames.compactMap { entry in
            metadata[entry.key].flatMap { $0.isEmpty ? nil : (entry.header, $0) }
        }
    }

    /// The metadata of an upgrade, from a header lookup (names in lower case).
    package static func metadata(header: (String) -> String?) -> [String: String] {
        var metadata: [String: String] = [:]
        for entry in headerNames {
            if let value = header(entry.header), !value.isEmpty { metadata[entry.key] = value }
        }
        return metadata
    }
}
