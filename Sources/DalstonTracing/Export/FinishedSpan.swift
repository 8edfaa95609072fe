import Tracing

/// A span that has ended: an immutable value handed to the batch processor and the exporter.
struct FinishedSpan: Sendable {
    var context: SpanContext
    var name: String
    var kind: SpanKind
    var startNanoseconds: UInt64
    var endNanoseconds: UInt64
    var attributes: SpanAttributes
    /// A server span's HTTP attributes, typed (an attribute of the same name in `attributes`
    /// wins).
    var serverAttributes = HTTPServerSpanAttributes()
    var events: [SpanEvent]
    var links: [FinishedSpanLink]
    var status: SpanStatus?
}

extension FinishedSpan {
    /// Every attribute as exported: the typed server ones not also set by name, then the rest.
    func forEachAttribute(_ body: (String, SpanAttribute) -> Void) {
        serverAttributes.forEach(notSetIn: attributes, body)
        attributes.forEach(body)
    }
}

/// A link, reduced to what is exported.
struct FinishedSpanLink: Sendable {
    var context: SpanContext
    var attributes: SpanAttributes
}
