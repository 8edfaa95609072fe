import Prometheus
import Synchronization

/// Something that refreshes sampled metrics (queue depths, process memory) just before a scrape.
public protocol MetricsCollector: Sendable {
    func collect() async
}

/// What `GET /metrics` serves: the registry's text after the collectors have refreshed their
/// samples. Collectors run on scrape, not per request, so sampling costs nothing when nobody
/// scrapes.
public final class PrometheusExposition: Sendable {
    /// Prometheus text exposition format 0.0.4.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public let registry: PrometheusCollectorRegistry
    private let collectors = Mutex<[any MetricsCollector]>([])
    private let listening = Mutex<String?>(nil)

    /// Where this exposition is served (`host:port`) once its listener runs, so a worker can
    /// advertise it in its heartbeat when the port was picked at start-up.
    public var endpoint: String? {
        get { listening.withLock { $0 } }
        set { listening.withLock { $0 = newValue } }
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    public func add(_ collector: any MetricsCollector) {
        collectors.withLock { $0.append(collector) }
    }

    public func render() async -> [UInt8] {
        for collector in collectors.withLock({ $0 }) {
            await collector.collect()
        }
        return registry.emitToBuffer()
    }
}
