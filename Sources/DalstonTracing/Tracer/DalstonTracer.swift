import DalstonPropagation
package import Instrumentation
package import Tracing

/// Dalston's tracer: W3C trace context in and out (`traceparent`, `tracestate`), a sampler, and
/// sampled spans recorded into the batch processor.
package final class DalstonTracer: Tracer {
    let processor: SpanBatchProcessor
    let sampler: TraceSampler
    /// `OTEL_PROPAGATORS=none`: nothing is injected or extracted.
    let propagates: Bool

    init(processor: SpanBatchProcessor, sampler: TraceSampler, propagates: Bool) {
        self.processor = processor
        self.sampler = sampler
        self.propagates = propagates
    }

    package func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind, at instant: @autoclosure () -> Instant,
        function: String, file fileID: String, line: UInt
    ) -> DalstonSpan {
        var context = context()
        let parent = context.spanContext
        let traceIDHigh = parent?.traceIDHigh ?? SpanContext.randomID()
        let traceIDLow = parent?.traceIDLow ?? SpanContext.randomID()
        let sampled = sampler.shouldSample(traceIDLow: traceIDLow, parent: parent)
        let spanContext = SpanContext(
            traceIDHigh: traceIDHigh, traceIDLow: traceIDLow, spanID: SpanContext.randomID(), parentSpanID: parent?.spanID,
            isSampled: sampled, traceState: parent?.traceState, isRemote: false)
        context.spanContext = spanContext
        return DalstonSpan(
            name: operationName, context: context, spanContext: spanContext, kind: kind, startNanoseconds: sampled ? instant().nanosecondsSinceEpoch : 0,
            processor: sampled ? processor : nil)
    }

    package func forceFlush() {
        processor.requestExport()
    }

    package func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard propagates, let traceparent = extractor.extract(key: MessageMetadataKey.traceparent, from: carrier),
              TraceParent.problem(traceparent) == nil,
              let extracted = SpanContext.parse(traceparent: traceparent, traceState: extractor.extract(key: MessageMetadataKey.tracestate, from: carrier))
        else { return }
        context.spanContext = extracted
    }

    package func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard propagates, let spanContext = context.spanContext else { return }
        injector.inject(spanContext.traceparent, forKey: MessageMetadataKey.traceparent, into: &carrier)
        if let traceState = spanContext.traceState {
            injector.inject(traceState, forKey: MessageMetadataKey.tracestate, into: &carrier)
        }
    }
}
