import Tracing

/// `ExportTraceServiceRequest` in the two OTLP/HTTP encodings: protobuf (written by hand, a few
/// message types) and OTLP/JSON (ids in hex, 64-bit integers as strings).
struct OTLPEncoding: Sendable {
    /// `service.name`, `OTEL_RESOURCE_ATTRIBUTES`, `telemetry.sdk.*`, in a fixed order.
    let resource: [(String, SpanAttribute)]
    static let scopeName = "dalston"
    static let scopeVersion = "1"

    // MARK: Protobuf

    func protobuf(_ spans: [FinishedSpan]) -> [UInt8] {
        // About 200 bytes for a server span with its attributes.
        var request = ProtobufWriter(reservingCapacity: 512 + spans.count * 256)
        request.message(1) { resourceSpans in
            resourceSpans.message(1) { resource in
                for (key, value) in self.resource { resource.message(1) { $0.keyValue(key, value) } }
            }
            resourceSpans.message(2) { scopeSpans in
                scopeSpans.message(1) { scope in
                    scope.string(1, Self.scopeName)
                    scope.string(2, Self.scopeVersion)
                }
                for span in spans {
                    scopeSpans.message(2) { $0.span(span) }
                }
            }
        }
        return request.bytes
    }

    // MARK: JSON

    func json(_ spans: [FinishedSpan]) -> [UInt8] {
        var out = JSONOut()
        out.raw(#"{"resourceSpans":[{"resource":{"attributes":"#)
        out.attributes(resource)
        out.raw(#"},"scopeSpans":[{"scope":{"name":"#)
        out.string(Self.scopeName)
        out.raw(#","version":"#)
        out.string(Self.scopeVersion)
        out.raw(#"},"spans":["#)
        for (index, span) in spans.enumerated() {
            if index > 0 { out.raw(",") }
            out.span(span)
        }
        out.raw("]}]}]}")
        return out.bytes
    }
}

extension SpanAttribute {
    /// The elements of an array attribute as scalar attributes (OTLP's `ArrayValue`), or `nil`.
    var otlpArrayElements: [SpanAttribute]? {
        switch self {
        case .int32Array(let values): values.map { .int64(Int64($0)) }
        case .int64Array(let values): values.map { .int64($0) }
        case .doubleArray(let values): values.map { .double($0) }
        case .boolArray(let values): values.map { .bool($0) }
        case .stringArray(let values): values.map { .string($0) }
        case .stringConvertibleArray(let values): values.map { .string($0.description) }
        default: nil
        }
    }
}

/// The OTLP enum values.
extension SpanKind {
    var otlpValue: UInt64 {
        switch self {
        case .internal: 1
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        }
    }
}

extension SpanStatus.Code {
    var otlpValue: UInt64 {
        switch self {
        case .ok: 1
        case .error: 2
        }
    }
}

/// Protobuf wire format (varints, fixed64, length-delimited fields), written into one buffer.
///
/// A nested message's body is written in place and moved up by its length's size once that is
/// known: no buffer per message, per string or per id (an export of 512 spans made about twenty
/// arrays per span before).
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var value = value >> 7
        while value != 0 {
            size += 1
            value >>= 7
        }
        return size
    }

    mutating func tag(_ field: UInt64, _ wireType: UInt64) { varint(field << 3 | wireType) }

    mutating func uint(_ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, 0)
        varint(value)
    }

    mutating func fixed64(_ field: UInt64, _ value: UInt64) {
        tag(field, 1)
        appendLittleEndian(value)
    }

    mutating func double(_ field: UInt64, _ value: Double) { fixed64(field, value.bitPattern) }

    mutating func bytes(_ field: UInt64, _ value: [UInt8]) {
        lengthDelimited(field, value)
    }

    mutating func string(_ field: UInt64, _ value: String) {
        guard !value.isEmpty else { return }
        lengthDelimited(field, value.utf8)
    }

    private mutating func lengthDelimited(_ field: UInt64, _ value: some Collection<UInt8>) {
        tag(field, 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func message(_ field: UInt64, _ body: (inout ProtobufWriter) -> Void) {
        tag(field, 2)
        let start = bytes.count
        body(&self)
        let length = bytes.count - start
        let lengthSize = Self.varintSize(UInt64(length))
        bytes.append(contentsOf: repeatElement(0, count: lengthSize))
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            // The regions overlap: copyMemory moves like memmove.
            (base + start + lengthSize).copyMemory(from: base + start, byteCount: length)
            var value = UInt64(length)
            for index in 0..<lengthSize {
                let continues: UInt8 = index < lengthSize - 1 ? 0x80 : 0
                base.storeBytes(of: UInt8(truncatingIfNeeded: value) | continues, toByteOffset: start + index, as: UInt8.self)
                value >>= 7
            }
        }
    }

    /// A trace id (two halves) or a span id, big-endian.
    mutating func id(_ field: UInt64, _ high: UInt64, _ low: UInt64? = nil) {
        tag(field, 2)
        varint(low == nil ? 8 : 16)
        appendBigEndian(high)
        if let low { appendBigEndian(low) }
    }

    private mutating func appendBigEndian(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private mutating func appendLittleEndian(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
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
        span.forEachAttribute { key, value in message(9) { $0.keyValue(key, value) } }
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
        case .string(let text): lengthDelimited(1, text.utf8)
        case .stringConvertible(let convertible): lengthDelimited(1, convertible.description.utf8)
        default:
            if let elements = value.otlpArrayElements { array(elements) } else { lengthDelimited(1, "\(value)".utf8) }
        }
    }

    private mutating func array(_ values: [SpanAttribute]) {
        message(5) { array in
            for value in values { array.message(1) { $0.anyValue(value) } }
        }
    }
}

/// OTLP/JSON output.
struct JSONOut {
    private(set) var bytes: [UInt8] = []

    mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": raw(#"\""#)
            case "\\": raw(#"\\"#)
            case "\n": raw(#"\n"#)
            case "\r": raw(#"\r"#)
            case "\t": raw(#"\t"#)
            case _ where scalar.value < 0x20 || scalar.value == 0x7f || (0x80...0x9f).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029:
                raw("\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16))
            default: bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func attributes(_ attributes: [(String, SpanAttribute)]) {
        raw("[")
        for (index, (key, value)) in attributes.enumerated() {
            if index > 0 { raw(",") }
            raw(#"{"key":"#)
            string(key)
            raw(#","value":"#)
            anyValue(value)
            raw("}")
        }
        raw("]")
    }

    mutating func attributes(_ attributes: SpanAttributes) {
        var pairs: [(String, SpanAttribute)] = []
        attributes.forEach { pairs.append(($0, $1)) }
        self.attributes(pairs)
    }

    mutating func anyValue(_ value: SpanAttribute) {
        switch value {
        case .int32(let number): raw(#"{"intValue":"\#(number)"}"#)
        case .int64(let number): raw(#"{"intValue":"\#(number)"}"#)
        case .double(let number):
            if number.isFinite { raw(#"{"doubleValue":\#(number)}"#) } else { raw(#"{"stringValue":"\#(number)"}"#) }
        case .bool(let flag): raw(#"{"boolValue":\#(flag)}"#)
        case .string(let text): raw(#"{"stringValue":"#); string(text); raw("}")
        case .stringConvertible(let convertible): raw(#"{"stringValue":"#); string(convertible.description); raw("}")
        default:
            if let elements = value.otlpArrayElements {
                array(elements)
            } else {
                raw(#"{"stringValue":"#); string("\(value)"); raw("}")
            }
        }
    }

    private mutating func array(_ values: [SpanAttribute]) {
        raw(#"{"arrayValue":{"values":["#)
        for (index, value) in values.enumerated() {
            if index > 0 { raw(",") }
            anyValue(value)
        }
        raw("]}}")
    }

    mutating func span(_ span: FinishedSpan) {
        raw(#"{"traceId":"\#(hex(span.context.traceIDHigh))\#(hex(span.context.traceIDLow))","spanId":"\#(hex(span.context.spanID))""#)
        if let parent = span.context.parentSpanID { raw(#","parentSpanId":"\#(hex(parent))""#) }
        if let traceState = span.context.traceState { raw(#","traceState":"#); string(traceState) }
        raw(#","name":"#)
        string(span.name)
        raw(#","kind":\#(span.kind.otlpValue),"startTimeUnixNano":"\#(span.startNanoseconds)","endTimeUnixNano":"\#(span.endNanoseconds)","attributes":"#)
        var pairs: [(String, SpanAttribute)] = []
        span.forEachAttribute { pairs.append(($0, $1)) }
        attributes(pairs)
        raw(#","events":["#)
        for (index, event) in span.events.enumerated() {
            if index > 0 { raw(",") }
            raw(#"{"timeUnixNano":"\#(event.nanosecondsSinceEpoch)","name":"#)
            string(event.name)
            raw(#","attributes":"#)
            attributes(event.attributes)
            raw("}")
        }
        raw(#"],"links":["#)
        for (index, link) in span.links.enumerated() {
            if index > 0 { raw(",") }
            raw(#"{"traceId":"\#(hex(link.context.traceIDHigh))\#(hex(link.context.traceIDLow))","spanId":"\#(hex(link.context.spanID))","attributes":"#)
            attributes(link.attributes)
            raw("}")
        }
        raw("]")
        if let status = span.status {
            raw(#","status":{"code":\#(status.code.otlpValue)"#)
            if let message = status.message { raw(#","message":"#); string(message) }
            raw("}")
        }
        raw("}")
    }
}
