import DalstonPropagation
import Instrumentation
import Logging
import OTel
import ServiceContextModule
import ServiceLifecycle
import Tracing

/// Installs the process's tracer: swift-otel exporting OTLP/HTTP (protobuf) in batches from a
/// bounded queue, so a slow or absent collector never holds up a request; spans that do not fit
/// are dropped, counted and reported by swift-otel at most once per export interval.
public enum DalstonTracing {
    /// Bootstraps `InstrumentationSystem` when tracing is on and returns the exporter service to
    /// run with the others: on graceful shutdown it flushes the spans still queued. Returns `nil`
    /// (and leaves the no-op tracer in place: no spans, no export attempts) when tracing is off.
    public static func bootstrap(_ configuration: TracingConfiguration) throws -> (any Service)? {
        guard configuration.enabled else { return nil }
        var otel = OTel.Configuration.default
        otel.logs.enabled = false  // logs go through DalstonLogging
        otel.metrics.enabled = false  // metrics go to Prometheus
        otel.traces.enabled = true
        otel.serviceName = configuration.serviceName
        otel.propagators = [.traceContext]
        otel.diagnosticLogger = .custom(Logger(label: "dalston.otel"))
        otel.diagnosticLogLevel = .warning
        // Only validated variables reach swift-otel (it reads no others).
        return try OTel.bootstrap(configuration: otel, environment: configuration.otelEnvironment)
    }

    /// `trace_id` and `span_id` of the current span, for every log line written inside one
    /// (joins the same task-local path as `request_id`). Tracer-neutral: it asks the installed
    /// tracer for the W3C context it would send.
    public static let logMetadataProvider = Logger.MetadataProvider {
        guard MessageTracing.isEnabled, let context = ServiceContext.current else { return [:] }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: MessageMetadataInjector())
        guard let traceparent = carrier[MessageMetadataKey.traceparent], let ids = TraceParent.ids(traceparent) else { return [:] }
        return ["trace_id": "\(ids.traceID)", "span_id": "\(ids.spanID)"]
    }
}
