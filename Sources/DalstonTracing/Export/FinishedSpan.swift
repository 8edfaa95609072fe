import Tracing

/// A span that has ended: an immutable value handed to the batch processor and the exporter.
struct FinishedSpan: Sendable {
    var context: SpanContext
    var name: String
    var kind: SpanKind
    var startNanoseconds: UInt64
    var endNanoseconds: UInt64
    var attributes: SpanAttributes
    var events: [SpanEvent]
    var links: [FinishedSpanLink]
    var status: SpanStatus?
}

/// A link, reduced to what is exported.
struct FinishedSpanLink: Sendable {
    var context: SpanContext
    var attributes: SpanAttributes
}
