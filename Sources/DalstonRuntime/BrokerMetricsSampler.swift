import CoreMetrics
package import DalstonBroker
package import DalstonMetrics
import DalstonPipeline
import Foundation
package import Logging

/// Queue depths, in-flight and dead-lettered tasks, the oldest task's age, live workers and
/// jobs in progress, read from the broker when `/metrics` is scraped, at most once per
/// `minimumInterval` (a handful of broker calls per scrape, none per request).
///
/// When the broker cannot be reached, `dalston_broker_up` drops to 0, the error is counted and
/// logged, and the other gauges keep their last values.
package actor BrokerMetricsSampler: MetricsCollector {
    private let broker: any Broker
    private let brokerKind: String
    private let instruments: Instruments
    private let minimumInterval: Duration
    private let logger: Logger
    private var lastSample: ContinuousClock.Instant?
    private var reportedFailure = false
    /// Engines ever seen, so an engine whose workers all died still reports 0 workers.
    private var engines: Set<String>

    package init(
        broker: any Broker, brokerKind: String, engineIDs: [String] = EngineKind.all, instruments: Instruments, minimumInterval: Duration = .seconds(1),
        logger: Logger = Logger(label: "dalston.metrics")
    ) {
        self.broker = broker
        self.brokerKind = brokerKind
        self.engines = Set(engineIDs)
        self.instruments = instruments
        instruments.startAtZero(DalstonMetric.sampleErrors)
        self.minimumInterval = minimumInterval
        self.logger = logger
    }

    package func collect() async {
        let now = ContinuousClock.now
        if let lastSample, now - lastSample < minimumInterval { return }
        lastSample = now
        let up = instruments.gauge(DalstonMetric.brokerUp, [("broker", brokerKind)])
        do {
            try await sample()
            up.record(1)
            if reportedFailure {
                logger.notice("metrics_sampling_recovered")
                reportedFailure = false
            }
        } catch {
            up.record(0)
            instruments.increment(DalstonMetric.sampleErrors)
            if !reportedFailure {
                logger.warning("metrics_sampling_failed", error: error)
                reportedFailure = true
            }
        }
    }

    private func sample() async throws(BrokerError) {
        engines.formUnion(try await broker.knownEngines())
        let workers = try await broker.liveWorkers()
        engines.formUnion(workers.map(\.engineID))
        for engine in engines.sorted() {
            let stats = try await broker.queueStats(engine: engine)
            let labels = [("engine_id", engine)]
            instruments.gauge(DalstonMetric.queueDepth, labels).record(stats.waiting)
            instruments.gauge(DalstonMetric.queueInFlight, labels).record(stats.inFlight)
            instruments.gauge(DalstonMetric.deadLetterDepth, labels).record(stats.deadLettered)
            instruments.gauge(DalstonMetric.queueOldestAge, labels).record(stats.oldestAge ?? 0)
            instruments.gauge(DalstonMetric.workersAlive, labels).record(workers.filter { $0.engineID == engine }.count)
        }
        instruments.gauge(DalstonMetric.jobsInProgress).record(try await broker.indexCount(PipelineIndex.activeJobs))
    }
}
