@testable import DalstonTracing
import DalstonTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import Tracing

@Suite("Tracing: batched span export")
struct SpanBatchProcessorTests {
    /// Keeps every batch; `gate` (when set) holds each export until opened.
    final class CapturingExporter: SpanExporter {
        let batches = Mutex<[[FinishedSpan]]>([])
        let gate: Gate?
        init(gate: Gate? = nil) { self.gate = gate }

        func export(_ spans: [FinishedSpan], timeout: Duration) async throws {
            if let gate { await gate.wait() }
            batches.withLock { $0.append(spans) }
        }
        func shutdown() async {}
        var exportedNames: [String] { batches.withLock { $0.flatMap { $0.map(\.name) } } }
    }

    /// A one-shot latch.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        func wait() async {
            await withCheckedContinuation { continuation in
                let open = state.withLock { state -> Bool in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if open { continuation.resume() }
            }
        }
        var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }

        func open() {
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    static func tracer(_ processor: SpanBatchProcessor, sampler: TraceSampler = .default) -> DalstonTracer {
        DalstonTracer(processor: processor, sampler: sampler, propagates: true)
    }

    static func settings(batch: Int, queue: Int, delay: Duration = .seconds(60)) -> SpanBatchProcessor.Settings {
        var settings = SpanBatchProcessor.Settings()
        settings.maximumBatchSize = batch
        settings.maximumQueueSize = queue
        settings.scheduleDelay = delay
        settings.exportTimeout = .seconds(10)
        return settings
    }

    /// Runs the processor in a service group until `body` returns, then shuts it down gracefully.
    static func running(_ processor: SpanBatchProcessor, _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: [processor], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func attributesSetOneByOneAreAllExportedAndNoneAfterTheEnd() async throws {
        let exporter = CapturingExporter()
        let processor = SpanBatchProcessor(settings: Self.settings(batch: 100, queue: 100), exporter: exporter, logger: Logger(label: "test"))
        let tracer = Self.tracer(processor)
        try await Self.running(processor) {
            let span: any Span = tracer.startSpan("GET /v1/status", context: .topLevel, ofKind: .server)
            for index in 0..<20 { span.attributes["attribute.\(index)"] = index }
            span.attributes["attribute.0"] = "replaced"
            span.updateAttributes { $0["updated"] = true }
            #expect(span.attributes["attribute.19"]?.toSpanAttribute() == .int64(19))
            span.end()
            span.attributes["after.end"] = 1
            #expect(span.attributes["after.end"] == nil, "an ended span takes no more attributes")
        }
        let exported = try #require(exporter.batches.withLock { $0.first?.first })
        var names: [String] = []
        exported.attributes.forEach { name, _ in names.append(name) }
        #expect(names.count == 21)
        #expect(exported.attributes["attribute.0"]?.toSpanAttribute() == .string("replaced"))
        #expect(exported.attributes["attribute.7"]?.toSpanAttribute() == .int64(7))
        #expect(exported.attributes["updated"]?.toSpanAttribute() == .bool(true))
    }

    @Test func aTraceparentIsVersionTraceSpanAndFlags() {
        let context = SpanContext(
            traceIDHigh: 0x0af7_6519_16cd_43dd, traceIDLow: 0x8448_eb21_1c80_319c, spanID: 0x00b7_ad6b_7169_2033, parentSpanID: nil, isSampled: true,
            traceState: nil, isRemote: false)
        #expect(context.traceparent == "00-0af7651916cd43dd8448eb211c80319c-00b7ad6b71692033-01")
        var unsampled = context
        unsampled.isSampled = false
        #expect(unsampled.traceparent.hasSuffix("-00"))
        #expect(SpanContext.parse(traceparent: context.traceparent, traceState: nil)?.spanID == context.spanID)
    }

    @Test func fullBatchesAreExportedAtOnceAndTheRestAtShutdown() async throws {
        let exporter = CapturingExporter()
        let processor = SpanBatchProcessor(settings: Self.settings(batch: 4, queue: 100), exporter: exporter, logger: Logger(label: "test"))
        let tracer = Self.tracer(processor)
        try await Self.running(processor) {
            for index in 0..<10 { tracer.startSpan("span \(index)", context: .topLevel).end() }
            // Two full batches go out without waiting for the 60 s delay.
            let deadline = ContinuousClock.now + .seconds(20)
            while exporter.batches.withLock({ $0.count }) < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(exporter.batches.withLock { $0.map(\.count) } == [4, 4])
        }
        // The two left were exported on the way out.
        #expect(exporter.batches.withLock { $0.map(\.count) } == [4, 4, 2])
        #expect(exporter.exportedNames == (0..<10).map { "span \($0)" })
        #expect(processor.exportedSpans == 10 && processor.droppedSpans == 0)
    }

    @Test func theScheduleDelayExportsAPartialBatch() async throws {
        let exporter = CapturingExporter()
        let processor = SpanBatchProcessor(
            settings: Self.settings(batch: 100, queue: 100, delay: .milliseconds(50)), exporter: exporter, logger: Logger(label: "test"))
        try await Self.running(processor) {
            Self.tracer(processor).startSpan("alone", context: .topLevel).end()
            let deadline = ContinuousClock.now + .seconds(20)
            while exporter.batches.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(exporter.exportedNames == ["alone"], "exported by the delay, before shutdown")
        }
    }

    @Test func aFullQueueDropsAndCountsWhileTheExporterIsStuck() async throws {
        let gate = Gate()
        let exporter = CapturingExporter(gate: gate)
        let processor = SpanBatchProcessor(settings: Self.settings(batch: 4, queue: 8), exporter: exporter, logger: Logger(label: "test"))
        let tracer = Self.tracer(processor)
        try await Self.running(processor) {
            // The first batch is taken and its export hangs; 8 more fill the queue; the rest drop.
            for index in 0..<4 { tracer.startSpan("span \(index)", context: .topLevel).end() }
            let deadline = ContinuousClock.now + .seconds(20)
            while !gate.hasWaiters && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(gate.hasWaiters, "the first batch's export is under way")
            let start = ContinuousClock.now
            for index in 4..<100 { tracer.startSpan("span \(index)", context: .topLevel).end() }
            #expect(ContinuousClock.now - start < .seconds(5), "ending a span never waits for the exporter")
            #expect(processor.droppedSpans == 88)
            gate.open()
        }
        #expect(processor.exportedSpans == 12)
        #expect(processor.exportedSpans + processor.droppedSpans == 100)
        #expect(exporter.exportedNames == (0..<12).map { "span \($0)" }, "the oldest are kept, the newest dropped")
    }

    @Test func unsampledSpansCarryContextButAreNotExported() async throws {
        let exporter = CapturingExporter()
        let processor = SpanBatchProcessor(settings: Self.settings(batch: 1, queue: 10), exporter: exporter, logger: Logger(label: "test"))
        let tracer = Self.tracer(processor, sampler: TraceSampler(root: .never, followsParent: true))
        try await Self.running(processor) {
            let span = tracer.startSpan("never", context: .topLevel)
            #expect(!span.isRecording)
            var carrier: [String: String] = [:]
            tracer.inject(span.context, into: &carrier, using: DictionaryInjector())
            #expect(carrier["traceparent"]?.hasSuffix("-00") == true, "propagated as not sampled")
            span.end()
        }
        #expect(exporter.exportedNames.isEmpty)
    }

    @Test func spansKeepTheirParentsStatusEventsAndErrors() async throws {
        let exporter = CapturingExporter()
        let processor = SpanBatchProcessor(settings: Self.settings(batch: 10, queue: 10), exporter: exporter, logger: Logger(label: "test"))
        let tracer = Self.tracer(processor)
        struct Boom: Error {}
        try await Self.running(processor) {
            let parent = tracer.startSpan("parent", context: .topLevel, ofKind: .server)
            let child = tracer.startSpan("child", context: parent.context, ofKind: .client)
            child.attributes["dalston.job_id"] = "job_1"
            child.recordError(Boom())
            child.setStatus(SpanStatus(code: .error, message: "failed"))
            child.end()
            child.setStatus(SpanStatus(code: .ok))  // after the end: ignored
            parent.end()
        }
        let spans = exporter.batches.withLock { $0.flatMap { $0 } }
        let child = try #require(spans.first { $0.name == "child" })
        let parent = try #require(spans.first { $0.name == "parent" })
        #expect(child.context.parentSpanID == parent.context.spanID)
        #expect(child.context.traceIDLow == parent.context.traceIDLow && child.context.traceIDHigh == parent.context.traceIDHigh)
        #expect(parent.context.parentSpanID == nil)
        #expect(child.status?.code == .error && child.status?.message == "failed")
        #expect(child.events.map(\.name) == ["exception"])
        #expect(child.attributes["dalston.job_id"]?.toSpanAttribute() == .string("job_1"))
        #expect(child.kind == .client && parent.kind == .server)
    }

    @Test func gzipRoundTripsThroughTheSystemGunzip() async throws {
        let input = Array(String(repeating: "a span, a span, a span; ", count: 400).utf8)
        let compressed = try Gzip.compress(input)
        #expect(compressed.count < input.count / 10)
        #expect(compressed.prefix(2) == [0x1f, 0x8b], "a gzip header")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-gzip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("batch.gz")
        try Data(compressed).write(to: file)
        let gunzip = try await runProcess(URL(fileURLWithPath: "/bin/gzip"), arguments: ["-d", file.path])
        #expect(gunzip.status == 0, "\(gunzip.stderr)")
        #expect(try Data(contentsOf: directory.appendingPathComponent("batch")) == Data(input))
    }

    @Test func protobufFieldsAreWhereOTLPPutsThem() throws {
        // A hand-checked encoding of one span: the reference decoder is exercised end to end.
        let span = FinishedSpan(
            context: SpanContext(traceIDHigh: 1, traceIDLow: 2, spanID: 3, parentSpanID: 4, isSampled: true, traceState: nil, isRemote: false),
            name: "n", kind: .server, startNanoseconds: 5, endNanoseconds: 6, attributes: [:], events: [], links: [], status: nil)
        var writer = ProtobufWriter()
        writer.span(span)
        let expected: [UInt8] = [0x0a, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]  // trace_id = 1, length 16
            + [0x12, 8, 0, 0, 0, 0, 0, 0, 0, 3]  // span_id = 2
            + [0x22, 8, 0, 0, 0, 0, 0, 0, 0, 4]  // parent_span_id = 4
            + [0x2a, 1, UInt8(ascii: "n")]  // name = 5
            + [0x30, 2]  // kind = 6: SERVER
            + [0x39, 5, 0, 0, 0, 0, 0, 0, 0]  // start_time_unix_nano = 7, fixed64
            + [0x41, 6, 0, 0, 0, 0, 0, 0, 0]  // end_time_unix_nano = 8, fixed64
        #expect(writer.bytes == expected)
        let json = String(decoding: OTLPEncoding(resource: [("service.name", .string("svc"))]).json([span]), as: UTF8.self)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["resourceSpans"] != nil, "\(json)")
        #expect(json.contains(#""traceId":"00000000000000010000000000000002","spanId":"0000000000000003","parentSpanId":"0000000000000004""#))
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
