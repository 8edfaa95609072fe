package import DalstonLogging
import DalstonPropagation
import Foundation
package import Instrumentation
import Logging
import ServiceContextModule
package import ServiceLifecycle
import Synchronization
import Tracing

/// Installs the process's tracer: spans recorded into a bounded, lock-protected queue and
/// exported in batches over OTLP/HTTP by one task, so a slow or absent collector never holds up
/// a request and ending a span never wakes a task; spans that do not fit are dropped and
/// counted (`dalston_otel_spans_dropped_total`).
package enum DalstonTracing {
    /// Bootstraps `InstrumentationSystem` when tracing is on and returns the export service to
    /// run with the others: on graceful shutdown it exports the spans still queued. Returns `nil`
    /// (and leaves the no-op tracer in place: no spans, no export attempts) when tracing is off.
    package static func bootstrap(_ configuration: TracingConfiguration) throws -> (any Service)? {
        guard configuration.enabled else { return nil }
        let settings = try ExportSettings(configuration)
        let processor = SpanBatchProcessor(settings: settings.batch, exporter: settings.makeExporter(), logger: Logger(label: "dalston.otel"))
        let tracer = DalstonTracer(processor: processor, sampler: settings.sampler, propagates: settings.propagates)
        InstrumentationSystem.bootstrap(tracer)
        installedTracer.store(Unmanaged.passRetained(tracer), ordering: .releasing)
        return processor
    }

    /// The bootstrapped tracer, nil while tracing is off: the gateway's middleware calls it
    /// directly, so that its spans are made by specialised code (through `any Tracer` every
    /// request went through swift-distributed-tracing's unspecialised generic `withSpan`, with
    /// generic metadata looked up at run time). Never freed: a bootstrapped tracer is never replaced.
    package static var tracer: DalstonTracer? {
        installedTracer.load(ordering: .acquiring)?.takeUnretainedValue()
    }

    private static let installedTracer = Atomic<Unmanaged<DalstonTracer>?>(nil)

    /// Spans dropped because the export queue was full, since start-up (0 without tracing).
    package static var droppedSpans: UInt64 {
        tracer?.processor.droppedSpans ?? 0
    }

    /// `trace_id` and `span_id` of the span current in a context, for every log line written
    /// inside one (`LoggingConfiguration.traceIDs`). Read straight from the context when the
    /// tracer is Dalston's; otherwise asked of the installed tracer through W3C injection.
    package static let logTraceIDs: @Sendable (ServiceContext) -> LogTraceIDs? = { context in
        guard MessageTracing.isEnabled else { return nil }
        if let spanContext = context.spanContext {
            return LogTraceIDs(traceIDHigh: spanContext.traceIDHigh, traceIDLow: spanContext.traceIDLow, spanID: spanContext.spanID)
        }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: MessageMetadataInjector())
        guard let traceparent = carrier[MessageMetadataKey.traceparent],
              let parsed = SpanContext.parse(traceparent: traceparent, traceState: nil)
        else { return nil }
        return LogTraceIDs(traceIDHigh: parsed.traceIDHigh, traceIDLow: parsed.traceIDLow, spanID: parsed.spanID)
    }
}

/// The exporter, batching, sampling and propagation settings from the validated `OTEL_*`
/// variables (`TracingConfiguration.otelEnvironment`).
struct ExportSettings {
    enum Exporter: String { case otlp, console, none }

    var exporter: Exporter = .otlp
    var endpoint: String
    var usesJSON = false
    var compresses = false
    var headers: [(String, String)] = []
    var requestTimeout: Duration = .seconds(10)
    var certificateFile: String?
    var batch = SpanBatchProcessor.Settings()
    var sampler = TraceSampler.default
    var propagates = true
    var resource: [(String, SpanAttribute)]

    init(_ configuration: TracingConfiguration) throws(TracingConfiguration.Invalid) {
        let environment = configuration.otelEnvironment
        func value(_ keys: String...) -> String? { keys.lazy.compactMap { environment[$0] }.first }
        func milliseconds(_ key: String) -> Duration? { environment[key].flatMap(Int.init).map { .milliseconds($0) } }

        endpoint = configuration.endpoint
        exporter = environment["OTEL_TRACES_EXPORTER"].flatMap(Exporter.init(rawValue:)) ?? .otlp
        usesJSON = value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") == "http/json"
        compresses = value("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION")?.lowercased() == "gzip"
        certificateFile = value("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE")
        if let certificateFile, !FileManager.default.isReadableFile(atPath: certificateFile) {
            throw .init(description: "OTEL_EXPORTER_OTLP_CERTIFICATE=\(certificateFile) is not a readable file")
        }
        requestTimeout = milliseconds("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") ?? milliseconds("OTEL_EXPORTER_OTLP_TIMEOUT") ?? .seconds(10)
        // Shared headers first; the traces-only ones replace a shared one of the same name.
        var headers: [(String, String)] = []
        for key in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
            for (name, value) in try Self.parsePairs(environment[key], variable: key) {
                headers.removeAll { $0.0.lowercased() == name.lowercased() }
                headers.append((name, value))
            }
        }
        self.headers = headers
        batch.scheduleDelay = milliseconds("OTEL_BSP_SCHEDULE_DELAY") ?? batch.scheduleDelay
        batch.exportTimeout = milliseconds("OTEL_BSP_EXPORT_TIMEOUT") ?? batch.exportTimeout
        batch.maximumQueueSize = environment["OTEL_BSP_MAX_QUEUE_SIZE"].flatMap(Int.init) ?? batch.maximumQueueSize
        batch.maximumBatchSize = environment["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"].flatMap(Int.init) ?? batch.maximumBatchSize
        sampler = TraceSampler.from(name: environment["OTEL_TRACES_SAMPLER"], argument: environment["OTEL_TRACES_SAMPLER_ARG"])
        propagates = environment["OTEL_PROPAGATORS"].map { $0.split(separator: ",").contains("tracecontext") } ?? true
        var resource: [(String, SpanAttribute)] = [("service.name", .string(configuration.serviceName))]
        for (key, value) in try Self.parsePairs(environment["OTEL_RESOURCE_ATTRIBUTES"], variable: "OTEL_RESOURCE_ATTRIBUTES")
        where key != "service.name" {
            resource.append((key, .string(value)))
        }
        resource += [("telemetry.sdk.name", .string("dalston")), ("telemetry.sdk.language", .string("swift"))]
        self.resource = resource
    }

    func makeExporter() -> any SpanExporter {
        let encoding = OTLPEncoding(resource: resource)
        switch exporter {
        case .none: return DiscardingSpanExporter()
        case .console: return ConsoleSpanExporter(encoding: encoding)
        case .otlp:
            return OTLPHTTPSpanExporter(
                endpoint: endpoint, encoding: encoding, usesJSON: usesJSON, compresses: compresses, headers: headers,
                requestTimeout: requestTimeout, certificateFile: certificateFile)
        }
    }

    /// `key=value,key=value` with percent-encoded values (W3C baggage format, as OTel uses it);
    /// an empty entry is an error. Start-up validation and the exporter read them alike.
    static func parsePairs(_ text: String?, variable: String) throws(TracingConfiguration.Invalid) -> [(String, String)] {
        guard let text, !text.isEmpty else { return [] }
        var pairs: [(String, String)] = []
        for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard parts.count == 2, !key.isEmpty, let value = String(parts[1]).trimmingCharacters(in: .whitespaces).removingPercentEncoding else {
                throw .init(description: "invalid \(variable) entry \"\(entry)\": expected key=value pairs separated by commas")
            }
            pairs.append((key, value))
        }
        return pairs
    }
}
