@testable import DalstonTracing
import Foundation
import Logging
import Testing
import Tracing

/// The gateway's server spans keep their HTTP attributes typed; collectors and readers of
/// `span.attributes` must see the same attributes as when they were set by name.
@Suite("Tracing: typed HTTP server attributes")
struct HTTPServerSpanAttributesTests {
    static let server = HTTPServerSpanAttributes(
        method: "POST", path: "/v1/audio/transcriptions", scheme: "http", route: "/v1/audio/transcriptions", userAgent: "curl/8",
        statusCode: 201, requestID: "req_1")

    static func span(attributes: SpanAttributes, server: HTTPServerSpanAttributes = HTTPServerSpanAttributes()) -> FinishedSpan {
        var span = FinishedSpan(
            context: SpanContext(traceIDHigh: 1, traceIDLow: 2, spanID: 3, parentSpanID: nil, isSampled: true, traceState: nil, isRemote: false),
            name: "POST /v1/audio/transcriptions", kind: .server, startNanoseconds: 5, endNanoseconds: 6, attributes: attributes,
            events: [], links: [], status: nil)
        span.serverAttributes = server
        return span
    }

    /// The exported OTLP/JSON attributes of one span, by key: a key exported twice fails.
    static func exportedAttributes(_ span: FinishedSpan) throws -> [String: String] {
        let json = OTLPEncoding(resource: []).json([span])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        let resourceSpans = try #require(object["resourceSpans"] as? [[String: Any]])
        let scopeSpans = try #require(resourceSpans.first?["scopeSpans"] as? [[String: Any]])
        let spans = try #require(scopeSpans.first?["spans"] as? [[String: Any]])
        let attributes = try #require(spans.first?["attributes"] as? [[String: Any]])
        var byKey: [String: String] = [:]
        for attribute in attributes {
            let key = try #require(attribute["key"] as? String)
            #expect(byKey[key] == nil, "\(key) exported twice")
            byKey[key] = "\(attribute["value"] ?? "")"
        }
        return byKey
    }

    @Test func typedAttributesAreExportedAsTheNamedOnesWouldBe() throws {
        var named = SpanAttributes()
        Self.server.forEach { key, value in named.set(key, value: value) }
        let typed = try Self.exportedAttributes(Self.span(attributes: [:], server: Self.server))
        #expect(typed == (try Self.exportedAttributes(Self.span(attributes: named))))
        #expect(typed.count == 7 && typed["http.response.status_code"]?.contains("201") == true)
        // Protobuf: every typed attribute is written, with its value.
        var writer = ProtobufWriter()
        writer.span(Self.span(attributes: [:], server: Self.server))
        let bytes = String(decoding: writer.bytes, as: UTF8.self)
        for key in ["http.request.method", "url.path", "url.scheme", "http.route", "user_agent.original", "http.response.status_code", "dalston.request_id"] {
            #expect(bytes.contains(key))
        }
        #expect(bytes.contains("curl/8") && bytes.contains("req_1"))
    }

    @Test func anAttributeSetByNameWinsOverTheTypedOne() throws {
        var named = SpanAttributes()
        named.set("http.route", value: .string("/custom"))
        named.set("extra", value: .int64(1))
        let exported = try Self.exportedAttributes(Self.span(attributes: named, server: Self.server))
        #expect(exported.count == 8)
        #expect(exported["http.route"]?.contains("/custom") == true)
    }

    @Test func aSpanShowsItsTypedAttributesAndExportsThem() async throws {
        let exporter = SpanBatchProcessorTests.CapturingExporter()
        let processor = SpanBatchProcessor(
            settings: SpanBatchProcessorTests.settings(batch: 100, queue: 100), exporter: exporter, logger: Logger(label: "test"))
        let tracer = SpanBatchProcessorTests.tracer(processor)
        try await SpanBatchProcessorTests.running(processor) {
            let span = tracer.startSpan("GET /v1/status", context: .topLevel, ofKind: .server)
            span.serverAttributes = HTTPServerSpanAttributes(method: "GET", path: "/v1/status")
            span.attributes["extra"] = "yes"
            #expect(span.attributes.get("http.request.method") == .string("GET"))
            #expect(span.attributes.get("extra") == .string("yes"))
            span.end()
            span.serverAttributes = Self.server
            #expect(span.serverAttributes.method == "GET", "an ended span takes no more attributes")
        }
        let exported = try #require(exporter.batches.withLock { $0.first?.first })
        #expect(exported.serverAttributes == HTTPServerSpanAttributes(method: "GET", path: "/v1/status"))
        var names: [String] = []
        exported.forEachAttribute { name, _ in names.append(name) }
        #expect(names.sorted() == ["extra", "http.request.method", "url.path"])
    }
}
