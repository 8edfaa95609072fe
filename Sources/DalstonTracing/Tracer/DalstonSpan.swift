import Synchronization
package import Tracing

/// A span of Dalston's tracer. Sampled, it collects what happens to it and, when it ends, hands
/// one value to the batch processor (a lock and an append; no task is woken per span). Not
/// sampled (no processor), it carries its context, so children and other processes continue the
/// trace unsampled, and records nothing.
package final class DalstonSpan: Span {
    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var server = HTTPServerSpanAttributes()
        var events: [SpanEvent] = []
        var links: [FinishedSpanLink] = []
        var status: SpanStatus?
        var ended: Bool
    }

    package let context: ServiceContext
    private let spanContext: SpanContext
    private let kind: SpanKind
    private let startNanoseconds: UInt64
    private let processor: SpanBatchProcessor?
    private let state: Mutex<State>

    init(name: String, context: ServiceContext, spanContext: SpanContext, kind: SpanKind, startNanoseconds: UInt64, processor: SpanBatchProcessor?) {
        self.context = context
        self.spanContext = spanContext
        self.kind = kind
        self.startNanoseconds = startNanoseconds
        self.processor = processor
        self.state = Mutex(State(name: name, ended: processor == nil))
    }

    package var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { if !$0.ended { $0.name = newValue } } }
    }

    /// The server span's HTTP attributes, set by the gateway in one step (see
    /// `HTTPServerSpanAttributes`); `attributes` shows them too.
    package var serverAttributes: HTTPServerSpanAttributes {
        get { state.withLock { $0.server } }
        set { state.withLock { if !$0.ended { $0.server = newValue } } }
    }

    package var attributes: SpanAttributes {
        get {
            state.withLock { state in
                guard !state.server.isEmpty else { return state.attributes }
                var attributes = state.attributes
                state.server.forEach(notSetIn: state.attributes) { key, value in attributes.set(key, value: value) }
                return attributes
            }
        }
        set { state.withLock { if !$0.ended { $0.attributes = newValue } } }
        // `span.attributes["key"] = value`: the attributes are taken out of the span while they
        // are changed, so the change is made in place. Through `get` and `set` every such line
        // copied the whole dictionary (the copy handed out was shared with the span's).
        _modify {
            var attributes = state.withLock { state -> SpanAttributes in
                guard !state.ended else { return state.attributes }
                defer { state.attributes = [:] }
                return state.attributes
            }
            defer { state.withLock { if !$0.ended { $0.attributes = attributes } } }
            yield &attributes
        }
    }

    package var isRecording: Bool { state.withLock { !$0.ended } }

    package func setStatus(_ status: SpanStatus) {
        state.withLock { state in
            guard !state.ended else { return }
            // OpenTelemetry: OK is final; an error's message is kept only with the error code.
            if state.status?.code == .ok { return }
            state.status = status.code == .error ? status : SpanStatus(code: status.code)
        }
    }

    package func addEvent(_ event: SpanEvent) {
        state.withLock { if !$0.ended { $0.events.append(event) } }
    }

    package func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        var eventAttributes: SpanAttributes = [
            "exception.type": .string(String(describing: type(of: error))),
            "exception.message": .string(String(describing: error)),
        ]
        eventAttributes.merge(attributes)
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: eventAttributes))
    }

    package func addLink(_ link: SpanLink) {
        guard let linked = link.context.spanContext else { return }
        state.withLock { if !$0.ended { $0.links.append(FinishedSpanLink(context: linked, attributes: link.attributes)) } }
    }

    package func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let end = instant().nanosecondsSinceEpoch
        let finished: FinishedSpan? = state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            return FinishedSpan(
                context: spanContext, name: state.name, kind: kind, startNanoseconds: startNanoseconds, endNanoseconds: max(end, startNanoseconds),
                attributes: state.attributes, serverAttributes: state.server, events: state.events, links: state.links, status: state.status)
        }
        if let finished { processor?.spanEnded(finished) }
    }
}
