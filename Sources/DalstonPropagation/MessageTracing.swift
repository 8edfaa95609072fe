import Synchronization
package import Instrumentation
import ServiceContextModule
package import Tracing

/// Writes trace context into a message's metadata map (`traceparent`, `tracestate`).
package struct MessageMetadataInjector: Injector {
    package init() {}

    package func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

/// Reads trace context from a message's metadata map.
package struct MessageMetadataExtractor: Extractor {
    package init() {}

    package func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}

/// W3C trace context across the broker: the producer injects the current span's context into
/// the message metadata, the consumer continues the trace from it, so an engine's span descends
/// from the HTTP request that created the job, across processes and Redis.
package enum MessageTracing {
    /// Whether a real tracer is installed (otherwise spans are no-ops and messages carry no context).
    ///
    /// Asked for every request and message. A bootstrapped instrument never goes back to the
    /// no-op one, so a yes is kept; a no is asked again (bootstrapping may come later).
    package static var isEnabled: Bool {
        if knownEnabled.load(ordering: .relaxed) { return true }
        let instrument = InstrumentationSystem.instrument
        let enabled = !(instrument is NoOpInstrument || instrument is NoOpTracer)
        if enabled { knownEnabled.store(true, ordering: .relaxed) }
        return enabled
    }

    private static let knownEnabled = Atomic<Bool>(false)

    /// The installed tracer, nil while there is none. Read for every traced request: asking
    /// `InstrumentationSystem` each time takes its lock and casts the instrument (about 0.7 % of
    /// a traced `GET /v1/status`); a bootstrapped tracer is never replaced, so the first one
    /// found is kept, in a box made once and never freed.
    package static var tracer: (any Tracer)? {
        if let box = installedTracer.load(ordering: .acquiring) {
            return box._withUnsafeGuaranteedRef { $0.tracer }
        }
        guard isEnabled else { return nil }
        let tracer = InstrumentationSystem.tracer
        if tracer is NoOpTracer { return nil }
        let box = Unmanaged.passRetained(TracerBox(tracer))
        let (exchanged, existing) = installedTracer.compareExchange(expected: nil, desired: box, ordering: .acquiringAndReleasing)
        guard exchanged else {
            box.release()
            return existing?._withUnsafeGuaranteedRef { $0.tracer } ?? tracer
        }
        return tracer
    }

    private final class TracerBox: Sendable {
        let tracer: any Tracer
        init(_ tracer: any Tracer) { self.tracer = tracer }
    }

    private static let installedTracer = Atomic<Unmanaged<TracerBox>?>(nil)

    /// Adds the trace context of `context` (the current one by default) to `metadata`.
    package static func inject(into metadata: inout [String: String], context: ServiceContext? = ServiceContext.current) {
        guard isEnabled, let context else { return }
        InstrumentationSystem.instrument.inject(context, into: &metadata, using: MessageMetadataInjector())
    }

    /// Why a message's trace context cannot be continued.
    package enum Problem: Equatable, Sendable, CustomStringConvertible {
        case missing
        case malformed(String)

        package var description: String {
            switch self {
            case .missing: "the message carries no traceparent"
            case .malformed(let reason): "the message's traceparent is malformed: \(reason)"
            }
        }
    }

    /// The context to continue: `base` (by default the current one, which holds the bound log
    /// fields) joined to the producer's trace when `metadata` holds a valid `traceparent`;
    /// otherwise `base` alone (a new trace) and the reason, for a warning. Never throws and never
    /// drops the message.
    package static func extract(
        from metadata: [String: String], base: ServiceContext = ServiceContext.current ?? .topLevel
    ) -> (context: ServiceContext, problem: Problem?) {
        var context = base
        guard isEnabled else { return (context, nil) }
        guard let traceparent = metadata[MessageMetadataKey.traceparent], !traceparent.isEmpty else { return (context, .missing) }
        if let reason = TraceParent.problem(traceparent) { return (context, .malformed(reason)) }
        InstrumentationSystem.instrument.extract(metadata, into: &context, using: MessageMetadataExtractor())
        return (context, nil)
    }
}

/// W3C `traceparent` (`version-traceid-parentid-flags`), checked before a tracer sees it.
package enum TraceParent {
    /// Why `value` is not a usable traceparent, or `nil` when it is.
    ///
    /// Checked on the UTF-8 bytes: this runs for every traced request and every message taken
    /// off a queue.
    package static func problem(_ value: String) -> String? {
        var value = value
        return value.withUTF8 { bytes in
            // The parts' bounds, without an array: the first four are all that is read.
            var dashes: (Int, Int, Int) = (0, 0, 0)
            var dashCount = 0
            var fourthEnd = bytes.count
            for index in 0..<bytes.count where bytes[index] == UInt8(ascii: "-") {
                switch dashCount {
                case 0: dashes.0 = index
                case 1: dashes.1 = index
                case 2: dashes.2 = index
                case 3: fourthEnd = index
                default: break
                }
                dashCount += 1
            }
            let partCount = dashCount + 1
            guard partCount >= 4 else { return "expected version-traceid-parentid-flags, got \(partCount) part(s)" }
            func part(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[range]) }
            let version = part(0..<dashes.0), traceID = part(dashes.0 + 1..<dashes.1)
            let parentID = part(dashes.1 + 1..<dashes.2), flags = part(dashes.2 + 1..<fourthEnd)
            guard version.count == 2, isLowerHex(version) else { return "version must be 2 lowercase hex digits" }
            guard !(version[0] == UInt8(ascii: "f") && version[1] == UInt8(ascii: "f")) else { return "version ff is invalid" }
            let isVersion00 = version[0] == UInt8(ascii: "0") && version[1] == UInt8(ascii: "0")
            guard !isVersion00 || partCount == 4 else { return "version 00 has exactly 4 parts" }
            guard traceID.count == 32, isLowerHex(traceID) else { return "trace id must be 32 lowercase hex digits" }
            guard traceID.contains(where: { $0 != UInt8(ascii: "0") }) else { return "trace id must not be all zeros" }
            guard parentID.count == 16, isLowerHex(parentID) else { return "parent id must be 16 lowercase hex digits" }
            guard parentID.contains(where: { $0 != UInt8(ascii: "0") }) else { return "parent id must not be all zeros" }
            guard flags.count == 2, isLowerHex(flags) else { return "flags must be 2 lowercase hex digits" }
            return nil
        }
    }

    /// The trace and span ids of a valid traceparent.
    package static func ids(_ value: String) -> (traceID: String, spanID: String)? {
        guard problem(value) == nil else { return nil }
        // Valid: `vv-` then 32 digits, `-`, 16 digits.
        let utf8 = value.utf8
        let traceStart = utf8.index(utf8.startIndex, offsetBy: 3)
        let traceEnd = utf8.index(traceStart, offsetBy: 32)
        let spanStart = utf8.index(after: traceEnd)
        let spanEnd = utf8.index(spanStart, offsetBy: 16)
        return (String(Substring(utf8[traceStart..<traceEnd])), String(Substring(utf8[spanStart..<spanEnd])))
    }

    private static func isLowerHex(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}
