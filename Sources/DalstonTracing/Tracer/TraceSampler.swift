/// Whether a new span is recorded and exported (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`).
/// Parent-based samplers follow the parent's decision and apply the root rule to new traces.
struct TraceSampler: Sendable, Equatable {
    enum Rule: Sendable, Equatable {
        case always
        case never
        /// Keeps a trace when its id's low 8 bytes fall under the ratio: every process makes the
        /// same decision for the same trace.
        case ratio(Double)
    }

    var root: Rule
    var followsParent: Bool

    static let `default` = TraceSampler(root: .always, followsParent: true)

    static func from(name: String?, argument: String?) -> TraceSampler {
        let ratio = argument.flatMap(Double.init) ?? 1
        switch name ?? "parentbased_always_on" {
        case "always_on": return TraceSampler(root: .always, followsParent: false)
        case "always_off": return TraceSampler(root: .never, followsParent: false)
        case "traceidratio": return TraceSampler(root: .ratio(ratio), followsParent: false)
        case "parentbased_always_off": return TraceSampler(root: .never, followsParent: true)
        case "parentbased_traceidratio": return TraceSampler(root: .ratio(ratio), followsParent: true)
        default: return .default
        }
    }

    func shouldSample(traceIDLow: UInt64, parent: SpanContext?) -> Bool {
        if followsParent, let parent { return parent.isSampled }
        switch root {
        case .always: return true
        case .never: return false
        case .ratio(let ratio):
            if ratio >= 1 { return true }
            if ratio <= 0 { return false }
            return Double(traceIDLow >> 1) < ratio * Double(UInt64.max >> 1)
        }
    }
}
