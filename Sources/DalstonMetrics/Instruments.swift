package import CoreMetrics
import Synchronization

/// Catalogue-checked instruments for one component: `instruments.counter(.tasksProcessed, …)`
/// instead of free-form labels, so a name or label typo cannot reach Prometheus.
///
/// Handles are cached by name and label values: the hot path (one request, one task) costs a
/// dictionary lookup, not a registry lookup and an allocation.
package struct Instruments: Sendable {
    package let factory: any MetricsFactory
    /// Not optional: unwrapping an optional reference on every lookup cost a retain and a release.
    private let cache: HandleCache
    private let recordsNothing: Bool

    package init(factory: any MetricsFactory) {
        self.factory = factory
        self.cache = HandleCache()
        self.recordsNothing = factory is NOOPMetricsHandler
    }

    /// Instruments that record nothing.
    package static let disabled = Instruments(factory: NOOPMetricsHandler.instance)

    package func counter(_ metric: MetricDefinition, _ labels: [(String, String)] = []) -> Counter {
        handle(metric, .counter, labels) { Counter(label: metric.name, dimensions: labels, factory: factory) }
    }

    /// Adds to a counter found by its labels: the same as `counter(metric, labels).increment(by:)`
    /// without taking a reference to the handle, for call sites on the hot path.
    package func increment(_ metric: MetricDefinition, _ labels: [(String, String)] = [], by amount: Int64 = 1) {
        guard !recordsNothing else { return }
        withHandle(metric, .counter, labels) { Counter(label: metric.name, dimensions: labels, factory: factory) } use: {
            $0.increment(by: amount)
        }
    }

    /// A counter of fractional amounts (e.g. busy seconds).
    package func floatingCounter(_ metric: MetricDefinition, _ labels: [(String, String)] = []) -> FloatingPointCounter {
        handle(metric, .counter, labels) { FloatingPointCounter(label: metric.name, dimensions: labels, factory: factory) }
    }

    /// Adds a fractional amount to a counter found by its labels, without taking a reference.
    package func increment(_ metric: MetricDefinition, _ labels: [(String, String)] = [], byFractional amount: Double) {
        guard !recordsNothing else { return }
        withHandle(metric, .counter, labels) { FloatingPointCounter(label: metric.name, dimensions: labels, factory: factory) } use: {
            $0.increment(by: amount)
        }
    }

    /// Registers counter series at 0 before their first event, so `rate()` and dashboards show
    /// 0 rather than "no data" for things that have not happened yet (Prometheus' advice for
    /// label values known in advance).
    package func startAtZero(_ metric: MetricDefinition, _ labelSets: [[(String, String)]] = [[]]) {
        for labels in labelSets { _ = counter(metric, labels) }
    }

    package func gauge(_ metric: MetricDefinition, _ labels: [(String, String)] = []) -> Gauge {
        handle(metric, .gauge, labels) { Gauge(label: metric.name, dimensions: labels, factory: factory) }
    }

    /// A histogram of durations, exported in seconds with the metric's buckets.
    package func timer(_ metric: MetricDefinition, _ labels: [(String, String)] = []) -> Timer {
        handle(metric, .histogram, labels) { Timer(label: metric.name, dimensions: labels, factory: factory) }
    }

    /// Records a duration in a histogram found by its labels, without taking a reference.
    package func record(_ metric: MetricDefinition, _ labels: [(String, String)] = [], duration: Duration) {
        guard !recordsNothing else { return }
        withHandle(metric, .histogram, labels) { Timer(label: metric.name, dimensions: labels, factory: factory) } use: {
            $0.recordNanoseconds(Self.nanoseconds(duration))
        }
    }

    /// Records seconds (negatives count as 0) in a histogram found by its labels, without taking
    /// a reference.
    package func record(_ metric: MetricDefinition, _ labels: [(String, String)] = [], seconds: Double) {
        guard !recordsNothing else { return }
        withHandle(metric, .histogram, labels) { Timer(label: metric.name, dimensions: labels, factory: factory) } use: {
            $0.record(seconds: seconds)
        }
    }

    /// Whole nanoseconds, negatives as 0, the largest value for durations past 292 years.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : .max }
        let (total, overflowed) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowed ? .max : max(0, total)
    }

    private func handle<Handle: AnyObject & Sendable>(
        _ metric: MetricDefinition, _ kind: MetricDefinition.Kind, _ labels: [(String, String)], make: () -> Handle
    ) -> Handle {
        if recordsNothing { return make() }
        return withHandle(metric, kind, labels, make: make) { $0 }
    }

    /// Runs `body` with the cached handle, borrowed: the cache keeps every handle for its life.
    @inline(__always)
    private func withHandle<Handle: AnyObject & Sendable, Result>(
        _ metric: MetricDefinition, _ kind: MetricDefinition.Kind, _ labels: [(String, String)], make: () -> Handle,
        use body: (Handle) -> Result
    ) -> Result {
        assert(metric.kind == kind && labels.map(\.0) == metric.labels, "\(metric.name) is a \(metric.kind) with labels \(metric.labels)")
        return cache.handle(name: metric.name, labels: labels, make: make)._withUnsafeGuaranteedRef(body)
    }
}

extension Timer {
    /// Records seconds given as a `Double` (e.g. from `Date` arithmetic); negatives count as 0.
    package func record(seconds: Double) {
        recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }
}

extension MetricsRuntime {
    package func instruments(for component: String) -> Instruments {
        Instruments(factory: factory(for: component))
    }
}
