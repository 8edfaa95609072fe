import DalstonLogging
import ServiceContextModule
import Synchronization

/// The W3C identity of a span: what crosses process boundaries in `traceparent`/`tracestate`.
struct SpanContext: Sendable, Equatable {
    /// 16 bytes, as two big-endian halves.
    var traceIDHigh: UInt64
    var traceIDLow: UInt64
    var spanID: UInt64
    /// The span this one continues, when it has a parent in the same trace.
    var parentSpanID: UInt64?
    var isSampled: Bool
    /// `tracestate`, passed on as received.
    var traceState: String?
    /// Whether it came from another process (extracted) rather than from a span of this one.
    var isRemote: Bool

    var traceIDHex: String { hex(traceIDHigh) + hex(traceIDLow) }
    var spanIDHex: String { hex(spanID) }

    /// `00-<trace id>-<span id>-<flags>`
    var traceparent: String {
        // Written into one string: it is made for every traced response and every message sent.
        String(unsafeUninitializedCapacity: 55) { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            base[0] = UInt8(ascii: "0")
            base[1] = UInt8(ascii: "0")
            base[2] = UInt8(ascii: "-")
            LogTraceIDs.writeHex(traceIDHigh, to: base + 3)
            LogTraceIDs.writeHex(traceIDLow, to: base + 19)
            base[35] = UInt8(ascii: "-")
            LogTraceIDs.writeHex(spanID, to: base + 36)
            base[52] = UInt8(ascii: "-")
            base[53] = UInt8(ascii: "0")
            base[54] = isSampled ? UInt8(ascii: "1") : UInt8(ascii: "0")
            return 55
        }
    }

    /// Parses a `traceparent` already checked by `TraceParent.problem` (or returns nil).
    static func parse(traceparent: String, traceState: String?) -> SpanContext? {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[1].utf8.count == 32, parts[2].utf8.count == 16, parts[3].utf8.count == 2,
              let high = UInt64(parts[1].prefix(16), radix: 16), let low = UInt64(parts[1].suffix(16), radix: 16),
              let span = UInt64(parts[2], radix: 16), let flags = UInt8(parts[3], radix: 16),
              high != 0 || low != 0, span != 0
        else { return nil }
        return SpanContext(
            traceIDHigh: high, traceIDLow: low, spanID: span, parentSpanID: nil, isSampled: flags & 1 == 1,
            traceState: traceState.flatMap { $0.isEmpty ? nil : $0 }, isRemote: true)
    }

    /// Random-looking, never zero (W3C: all-zero ids are invalid), and never repeated within the
    /// process: SplitMix64 of a counter that starts at a random value.
    ///
    /// Three ids per root span (two for a child): reading the system's generator for each was a
    /// `getrandom(2)` call apiece. SplitMix64's output function is a bijection, so distinct
    /// counter values give distinct ids; the random start keeps processes apart.
    static func randomID() -> UInt64 {
        while true {
            let value = splitMix64(idCounter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue)
            if value != 0 { return value }
        }
    }

    private static let idCounter = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    static func splitMix64(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// 16 lowercase hex digits.
func hex(_ value: UInt64) -> String {
    LogTraceIDs.hex(value)
}

enum SpanContextKey: ServiceContextKey {
    typealias Value = SpanContext
    static var nameOverride: String? { "dalston.span_context" }
}

extension ServiceContext {
    var spanContext: SpanContext? {
        get { self[SpanContextKey.self] }
        set { self[SpanContextKey.self] = newValue }
    }
}
