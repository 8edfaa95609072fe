package import CoreMetrics
package import Prometheus

/// The swift-metrics backend of every Dalston process: instruments land in a Prometheus
/// registry with the help text and buckets of `DalstonMetric`, and every series gets a
/// `service` label, so one registry can serve several components (`dalston up`).
///
/// Metrics that libraries create through swift-metrics get a generic help text and the
/// request buckets; they are exported, never dropped.
package struct DalstonMetricsFactory: MetricsFactory {
    package let registry: PrometheusCollectorRegistry
    /// The `service` label of every series this factory creates.
    package let service: String

    package init(registry: PrometheusCollectorRegistry, service: String) {
        self.registry = registry
        self.service = service
    }

    /// The same registry, labelled as another component.
    package func labelled(service: String) -> DalstonMetricsFactory {
        DalstonMetricsFactory(registry: registry, service: service)
    }

    private func labels(_ dimensions: [(String, String)]) -> [(String, String)] {
        dimensions.contains { $0.0 == "service" } ? dimensions : [("service", service)] + dimensions
    }

    /// The full name with its help text (the unit is already part of Dalston's names).
    private func descriptor(_ name: String) -> MetricNameDescriptor {
        let help = DalstonMetric.definition(named: name)?.help ?? "\(name), reported by a library through swift-metrics."
        return MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func buckets(_ name: String) -> [Double] {
        DalstonMetric.definition(named: name).map(\.buckets).flatMap { $0.isEmpty ? nil : $0 } ?? MetricBuckets.request
    }

    package func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: labels(dimensions))
    }

    package func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: labels(dimensions))
    }

    package func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: labels(dimensions)) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: labels(dimensions), buckets: buckets(label))
    }

    package func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: labels(dimensions))
    }

    package func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = buckets(label).map { Duration.nanoseconds(Int64($0 * 1e9)) }
        return registry.makeDurationHistogram(descriptor: descriptor(label), labels: labels(dimensions), buckets: buckets)
    }

    package func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    package func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    package func destroyRecorder(_ handler: any RecorderHandler) {
        switch handler {
        case let gauge as Prometheus.Gauge: registry.unregisterGauge(gauge)
        case let histogram as Prometheus.Histogram<Double>: registry.unregisterValueHistogram(histogram)
        default: break
        }
    }

    package func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    package func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? Prometheus.Histogram<Duration> { registry.unregisterDurationHistogram(histogram) }
    }
}
