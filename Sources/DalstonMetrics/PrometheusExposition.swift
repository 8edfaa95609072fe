package import Prometheus
import Synchronization

/// Something that refreshes sampled metrics (queue depths, process memory) just before a scrape.
package protocol MetricsCollector: Sendable {
    func collect() async
}

/// What `GET /metrics` serves: the registry's text after the collectors have refreshed their
/// samples. Collectors run on scrape, not per request, so sampling costs nothing when nobody
/// scrapes.
package final class PrometheusExposition: Sendable {
    /// Prometheus text exposition format 0.0.4.
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    package let registry: PrometheusCollectorRegistry
    private let collectors = Mutex<[any MetricsCollector]>([])
    private let listening = Mutex<String?>(nil)

    /// Where this exposition is served (`host:port`) once its listener runs, so a worker can
    /// advertise it in its heartbeat when the port was picked at start-up.
    package var endpoint: String? {
        get { listening.withLock { $0 } }
        set { listening.withLock { $0 = newValue } }
    }

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    package func add(_ collector: any MetricsCollector) {
        collectors.withLock { $0.append(collector) }
    }

    package func render() async -> [UInt8] {
        for collector in collectors.withLock({ $0 }) {
            await collector.collect()
        }
        return registry.emitToBuffer()
    }
}
