import Instrumentation
import Logging

/// The current span's ids, as a tracer hands them to logging: written as `trace_id` and `span_id`
/// on every line inside the span.
///
/// A tracer that can read its ids from a `ServiceContext` sets `LoggingConfiguration.traceIDs`:
/// the JSON fast path then writes the hex digits straight into the line, where a metadata
/// provider would build two strings and a dictionary for every line.
public struct LogTraceIDs: Sendable, Equatable {
    /// The 16-byte trace id as two big-endian halves.
    public var traceIDHigh: UInt64
    public var traceIDLow: UInt64
    public var spanID: UInt64

    public init(traceIDHigh: UInt64, traceIDLow: UInt64, spanID: UInt64) {
        self.traceIDHigh = traceIDHigh
        self.traceIDLow = traceIDLow
        self.spanID = spanID
    }

    /// 32 lowercase hex digits.
    public var traceIDHex: String { Self.hex(traceIDHigh) + Self.hex(traceIDLow) }
    /// 16 lowercase hex digits.
    public var spanIDHex: String { Self.hex(spanID) }

    /// The ids as the fields the general path (and other handlers) merge into a line.
    var metadata: Logger.Metadata {
        ["trace_id": .string(traceIDHex), "span_id": .string(spanIDHex)]
    }

    /// `,"trace_id":"…","span_id":"…"`
    func appendJSON(to line: inout LineBuffer) {
        line.append(#","trace_id":""#)
        line.append(writing: 16) { Self.writeHex(traceIDHigh, to: $0) }
        line.append(writing: 16) { Self.writeHex(traceIDLow, to: $0) }
        line.append(#"","span_id":""#)
        line.append(writing: 16) { Self.writeHex(spanID, to: $0) }
        line.append(UInt8(ascii: "\""))
    }

    /// 16 lowercase hex digits, without an array of digits or a buffer per call.
    public static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            writeHex(value, to: base)
            return 16
        }
    }

    /// Writes `value` as 16 lowercase hex digits at `destination` (the one place ids become hex:
    /// log lines, `hex`, and the tracer's `traceparent`).
    @inline(__always)
    package static func writeHex(_ value: UInt64, to destination: UnsafeMutablePointer<UInt8>) {
        for index in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: (value >> UInt64((15 - index) * 4)) & 0xf)
            destination[index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
        }
    }
}
