package import CoreMetrics
import Prometheus
import Synchronization

/// The metrics of one process, handed to each component: a factory labelled with the
/// component's name and the exposition to serve, or no-ops when metrics are off.
///
/// Components take it explicitly (tests give each its own registry); `bootstrap` also installs
/// it as swift-metrics' global backend so libraries' metrics land in the same registry.
package struct MetricsRuntime: Sendable {
    /// `nil` when metrics are off.
    package let exposition: PrometheusExposition?
    private let base: DalstonMetricsFactory?

    /// Metrics off: every instrument is a no-op and nothing is served.
    package static let disabled = MetricsRuntime(exposition: nil, base: nil)

    private init(exposition: PrometheusExposition?, base: DalstonMetricsFactory?) {
        self.exposition = exposition
        self.base = base
    }

    /// A runtime with a registry of its own, not installed globally (tests, benchmarks).
    package static func standalone(service: String) -> MetricsRuntime {
        let exposition = PrometheusExposition()
        return MetricsRuntime(exposition: exposition, base: DalstonMetricsFactory(registry: exposition.registry, service: service))
    }

    package var isEnabled: Bool { exposition != nil }

    /// The factory for one component's instruments; its series carry `service=component`.
    package func factory(for component: String) -> any MetricsFactory {
        base?.labelled(service: component) ?? NOOPMetricsHandler.instance
    }

    private static let installed = Mutex(false)

    /// Builds the process's runtime and installs it as swift-metrics' backend, once per
    /// process (a second call returns a new runtime and leaves the global backend alone).
    package static func bootstrap(service: String, configuration: MetricsConfiguration) -> MetricsRuntime {
        let runtime = configuration.enabled ? standalone(service: service) : .disabled
        let first = installed.withLock { done in
            defer { done = true }
            return !done
        }
        if first {
            MetricsSystem.bootstrap(runtime.factory(for: service))
        }
        if let exposition = runtime.exposition {
            exposition.add(ProcessMetricsCollector(instruments: runtime.instruments(for: service)))
        }
        return runtime
    }
}
