import DalstonPropagation
@testable import DalstonTracing
import Foundation
import Logging
import ServiceContextModule
import Testing
import Tracing

@Suite("Trace context in message metadata")
struct TraceContextTests {
    /// Dalston's tracer, not installed globally (other tests in this process run untraced).
    static let tracer: any Tracer = DalstonTracer(
        processor: SpanBatchProcessor(settings: .init(), exporter: DiscardingSpanExporter(), logger: Logger(label: "test.otel")),
        sampler: .default, propagates: true)

    @Test func aContextInjectedIntoMetadataIsExtractedAsTheSameTrace() throws {
        let tracer = Self.tracer
        let producer = tracer.startAnySpan("producer", context: .topLevel, ofKind: .producer)
        defer { producer.end() }
        var metadata = [MessageMetadataKey.requestID: "req_1"]
        tracer.inject(producer.context, into: &metadata, using: MessageMetadataInjector())
        let traceparent = try #require(metadata[MessageMetadataKey.traceparent])
        #expect(TraceParent.problem(traceparent) == nil, "\(traceparent)")
        #expect(metadata[MessageMetadataKey.requestID] == "req_1", "other keys are left alone")

        var extracted = ServiceContext.topLevel
        tracer.extract(metadata, into: &extracted, using: MessageMetadataExtractor())
        let consumer = tracer.startAnySpan("consumer", context: extracted, ofKind: .consumer)
        defer { consumer.end() }
        var consumerCarrier: [String: String] = [:]
        tracer.inject(consumer.context, into: &consumerCarrier, using: MessageMetadataInjector())
        let producerIDs = try #require(TraceParent.ids(traceparent))
        let consumerIDs = try #require(consumerCarrier[MessageMetadataKey.traceparent].flatMap(TraceParent.ids))
        #expect(consumerIDs.traceID == producerIDs.traceID, "the consumer continues the producer's trace")
        #expect(consumerIDs.spanID != producerIDs.spanID, "as a new span")
    }

    @Test(arguments: [
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", nil),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", nil),
        ("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future", nil),
        ("", "expected version-traceid-parentid-flags"),
        ("garbage", "expected version-traceid-parentid-flags"),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", "expected version-traceid-parentid-flags"),
        ("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "version ff is invalid"),
        ("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", "trace id must be 32 lowercase hex digits"),
        ("00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01", "trace id must be 32 lowercase hex digits"),
        ("00-00000000000000000000000000000000-b7ad6b7169203331-01", "trace id must not be all zeros"),
        ("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", "parent id must not be all zeros"),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333g-01", "parent id must be 16 lowercase hex digits"),
        // Checked on bytes: a non-ASCII digit or a character that merges with a dash is refused.
        ("00-0af7651916cd43dd8448eb211c80319\u{e9}-b7ad6b7169203331-01", "trace id must be 32 lowercase hex digits"),
        ("00-0af7651916cd43dd8448eb211c80319c-\u{301}b7ad6b716920333-01", "parent id must be 16 lowercase hex digits"),
        ("0\u{660}-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "version must be 2 lowercase hex digits"),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1", "flags must be 2 lowercase hex digits"),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", "version 00 has exactly 4 parts"),
        ("0x-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "version must be 2 lowercase hex digits"),
    ] as [(String, String?)])
    func traceparentValidation(value: String, problem: String?) {
        let found = TraceParent.problem(value)
        if let problem {
            #expect(found?.contains(problem) == true, "\(value): \(found ?? "accepted")")
        } else {
            #expect(found == nil, "\(value): \(found ?? "")")
        }
    }

    @Test func spanIDsAreNeverZeroNorRepeatedAndLookRandom() {
        // SplitMix64's published first output for seed 0 (state advanced once by its gamma).
        #expect(SpanContext.splitMix64(0x9E37_79B9_7F4A_7C15) == 0xE220_A839_7B1D_CDAF)
        let ids = (0..<20_000).map { _ in SpanContext.randomID() }
        #expect(!ids.contains(0))
        #expect(Set(ids).count == ids.count)
        // Every bit set in about half of them (a stuck or constant bit would show).
        var ones = [Int](repeating: 0, count: 64)
        for id in ids {
            var bits = id
            while bits != 0 {
                ones[bits.trailingZeroBitCount] += 1
                bits &= bits - 1
            }
        }
        for (bit, count) in ones.enumerated() {
            #expect((9_300...10_700).contains(count), "bit \(bit) set in \(count) of 20000 ids")
        }
    }

    @Test func idsAreTheTraceparentsSecondAndThirdParts() {
        let ids = TraceParent.ids("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        #expect(ids?.traceID == "0af7651916cd43dd8448eb211c80319c" && ids?.spanID == "b7ad6b7169203331")
        #expect(TraceParent.ids("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future")?.spanID == "b7ad6b7169203331")
        #expect(TraceParent.ids("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331") == nil)
    }

    @Test func withoutATracerMessagesCarryNoContextAndNothingIsReported() {
        // This test process never installs a tracer globally.
        #expect(!MessageTracing.isEnabled)
        var metadata: [String: String] = [:]
        MessageTracing.inject(into: &metadata)
        #expect(metadata.isEmpty)
        let (_, problem) = MessageTracing.extract(from: ["traceparent": "garbage"])
        #expect(problem == nil, "nothing to warn about when tracing is off")
    }

    @Test func aSessionsCorrelationTravelsAsUpgradeHeadersAndIsReadBack() {
        let headers = SessionCorrelation.headers(requestID: "req_9", sessionID: "sess_0123456789abcdef")
        let byName = Dictionary(headers.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        #expect(byName == ["x-request-id": "req_9", "x-dalston-session-id": "sess_0123456789abcdef"], "no trace context without a tracer")
        let received = ["x-request-id": "req_9", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                        "tracestate": "vendor=1", "x-dalston-session-id": "", "x-other": "ignored"]
        #expect(SessionCorrelation.metadata { received[$0] } == [
            MessageMetadataKey.requestID: "req_9", MessageMetadataKey.traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            MessageMetadataKey.tracestate: "vendor=1",
        ], "tracestate is kept; empty values are absent")
    }
}
