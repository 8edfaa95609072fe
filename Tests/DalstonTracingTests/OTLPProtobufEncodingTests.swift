@testable import DalstonTracing
import DalstonTestSupport
import Testing
import Tracing

/// The OTLP protobuf encoder, which writes nested messages in place, against the writer it
/// replaced (a buffer per message, string and id), kept here as the reference: the same bytes
/// for random batches.
///
/// Kept cheap: tests run in parallel on the cooperative pool, and a long synchronous one holds up
/// others' timers.
@Suite("Tracing: OTLP protobuf encoding")
struct OTLPProtobufEncodingTests {
    @Test(arguments: 0..<60)
    func writesWhatTheReferenceWriterWrote(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let resource: [(String, SpanAttribute)] = [("service.name", .string("gateway")), ("host.name", .string(Self.text(&random)))]
        let spans = (0..<Int.random(in: 0...12, using: &random)).map { _ in Self.span(&random) }
        let encoded = OTLPEncoding(resource: resource).protobuf(spans)
        #expect(encoded == Self.reference(resource: resource, spans: spans))
    }

    @Test func nestedLengthsOfEveryVarintSizeAreWritten() {
        // Bodies around 127/128 bytes (one- and two-byte lengths), 16383/16384 (two and three) and
        // one of 70 000 bytes, one and two levels deep.
        for count in [0, 1, 124, 125, 126, 127, 128, 16_379, 16_380, 16_381, 16_382, 16_383, 70_000] {
            let payload = [UInt8](repeating: 7, count: count)
            var writer = ProtobufWriter()
            writer.message(9) { outer in outer.message(2) { $0.bytes(1, payload) } }
            var reference = ReferenceProtobufWriter()
            reference.message(9) { outer in outer.message(2) { $0.bytes(1, payload) } }
            #expect(writer.bytes == reference.bytes, "payload of \(count) bytes")
        }
    }

    static func reference(resource: [(String, SpanAttribute)], spans: [FinishedSpan]) -> [UInt8] {
        var scopeSpans = ReferenceProtobufWriter()
        scopeSpans.message(1) { scope in
            scope.string(1, OTLPEncoding.scopeName)
            scope.string(2, OTLPEncoding.scopeVersion)
        }
        for span in spans {
            scopeSpans.message(2) { $0.span(span) }
        }
        var resourceSpans = ReferenceProtobufWriter()
        resourceSpans.message(1) { writer in
            for (key, value) in resource { writer.message(1) { $0.keyValue(key, value) } }
        }
        resourceSpans.bytes(2, scopeSpans.bytes)
        var request = ReferenceProtobufWriter()
        request.bytes(1, resourceSpans.bytes)
        return request.bytes
    }

    static func text(_ random: inout SeededGenerator) -> String {
        let pieces = ["a", "é", "日本", "😀", "\n", "\"", " ", "x", "\u{0}"]
        // Mostly short; sometimes long enough for a two-byte length (the nested-length test below
        // covers every varint size). A few random pieces repeated: cheap to build.
        let count = [0, 1, 5, 40, 300].randomElement(using: &random) ?? 1
        let unit = (0..<4).map { _ in pieces.randomElement(using: &random) ?? "a" }.joined()
        return String(String(repeating: unit, count: count / 4 + 1).prefix(count))
    }

    static func attribute(_ random: inout SeededGenerator) -> SpanAttribute {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: .int32(Int32.random(in: .min ... .max, using: &random))
        case 1: .int64(Int64.random(in: .min ... .max, using: &random))
        case 2: .double(Double.random(in: -1e9...1e9, using: &random))
        case 3: .bool(Bool.random(using: &random))
        case 4: .stringArray((0..<Int.random(in: 0...3, using: &random)).map { _ in text(&random) })
        case 5: .int64Array((0..<Int.random(in: 0...3, using: &random)).map { _ in Int64.random(in: -5...5, using: &random) })
        case 6: .stringConvertible(Int.random(in: 0...1000, using: &random))
        default: .string(text(&random))
        }
    }

    static func attributes(_ random: inout SeededGenerator) -> SpanAttributes {
        var attributes = SpanAttributes()
        for index in 0..<Int.random(in: 0...8, using: &random) { attributes.set("key.\(index)", value: attribute(&random)) }
        return attributes
    }

    static func context(_ random: inout SeededGenerator) -> SpanContext {
        SpanContext(
            traceIDHigh: random.next(), traceIDLow: random.next(), spanID: random.next(),
            parentSpanID: Bool.random(using: &random) ? random.next() : nil, isSampled: true,
            traceState: Bool.random(using: &random) ? "vendor=\(random.next() % 1000)" : nil, isRemote: false)
    }

    static func span(_ random: inout SeededGenerator) -> FinishedSpan {
        let start = random.next() >> 1
        let kinds: [SpanKind] = [.internal, .server, .client, .producer, .consumer]
        let events = (0..<Int.random(in: 0...2, using: &random)).map { index in
            SpanEvent(name: "event \(index) " + text(&random), at: ReferenceInstant(nanosecondsSinceEpoch: start + UInt64(index)), attributes: attributes(&random))
        }
        let links = (0..<Int.random(in: 0...2, using: &random)).map { _ in FinishedSpanLink(context: context(&random), attributes: attributes(&random)) }
        let statuses: [SpanStatus?] = [nil, SpanStatus(code: .ok), SpanStatus(code: .error, message: text(&random)), SpanStatus(code: .error)]
        return FinishedSpan(
            context: context(&random), name: text(&random), kind: kinds.randomElement(using: &random) ?? .internal,
            startNanoseconds: start, endNanoseconds: start + random.next() % 1_000_000_000, attributes: attributes(&random),
            events: events, links: links, status: statuses.randomElement(using: &random) ?? nil)
    }
}

/// The encoder before it wrote in place (commit c60390d), unchanged.
struct ReferenceProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ field: UInt64, _ wireType: UInt64) { varint(field << 3 | wireType) }

    mutating func uint(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, 0)
        varint(value)
    }

    mutating func fixed64(_ field: UInt64, _ value: UInt64) {
        tag(field, 1)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func double(_ field: UInt64, _ value: Double) { fixed64(field, value.bitPattern) }

    mutating func bytes(_ field: UInt64, _ value: [UInt8]) {
        tag(field, 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: UInt64, _ value: String) {
        guard !value.isEmpty else { return }
        bytes(field, Array(value.utf8))
    }

    mutating func message(_ field: UInt64, _ body: (inout ReferenceProtobufWriter) -> Void) {
        var nested = ReferenceProtobufWriter()
        body(&nested)
        bytes(field, nested.bytes)
    }

    mutating func id(_ field: UInt64, _ parts: UInt64...) {
        var value: [UInt8] = []
        for part in parts { for shift in stride(from: 56, through: 0, by: -8) { value.append(UInt8(truncatingIfNeeded: part >> UInt64(shift))) } }
        bytes(field, value)
    }

    mutating func span(_ span: FinishedSpan) {
        id(1, span.context.traceIDHigh, span.context.traceIDLow)
        id(2, span.context.spanID)
        if let traceState = span.context.traceState { string(3, traceState) }
        if let parent = span.context.parentSpanID { id(4, parent) }
        string(5, span.name)
        uint(6, span.kind.otlpValue)
        fixed64(7, span.startNanoseconds)
        fixed64(8, span.endNanoseconds)
        span.attributes.forEach { key, value in message(9) { $0.keyValue(key, value) } }
        for event in span.events {
            message(11) { writer in
                writer.fixed64(1, event.nanosecondsSinceEpoch)
                writer.string(2, event.name)
                event.attributes.forEach { key, value in writer.message(3) { $0.keyValue(key, value) } }
            }
        }
        for link in span.links {
            message(13) { writer in
                writer.id(1, link.context.traceIDHigh, link.context.traceIDLow)
                writer.id(2, link.context.spanID)
                if let traceState = link.context.traceState { writer.string(3, traceState) }
                link.attributes.forEach { key, value in writer.message(4) { $0.keyValue(key, value) } }
            }
        }
        if let status = span.status {
            message(15) { writer in
                if let message = status.message { writer.string(2, message) }
                writer.uint(3, status.code.otlpValue)
            }
        }
    }

    mutating func keyValue(_ key: String, _ value: SpanAttribute) {
        string(1, key)
        message(2) { $0.anyValue(value) }
    }

    /// AnyValue: 1 string, 2 bool, 3 int, 4 double, 5 array.
    mutating func anyValue(_ value: SpanAttribute) {
        switch value {
        case .int32(let number): tag(3, 0); varint(UInt64(bitPattern: Int64(number)))
        case .int64(let number): tag(3, 0); varint(UInt64(bitPattern: number))
        case .double(let number): double(4, number)
        case .bool(let flag): tag(2, 0); varint(flag ? 1 : 0)
        case .string(let text): bytes(1, Array(text.utf8))
        case .stringConvertible(let convertible): bytes(1, Array(convertible.description.utf8))
        default:
            if let elements = value.otlpArrayElements { array(elements) } else { bytes(1, Array("\(value)".utf8)) }
        }
    }

    private mutating func array(_ values: [SpanAttribute]) {
        message(5) { array in
            for value in values { array.message(1) { $0.anyValue(value) } }
        }
    }
}

struct ReferenceInstant: TracerInstant {
    let nanosecondsSinceEpoch: UInt64
    static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }
}
