import DalstonMetrics
import DalstonRecords

/// `dalston_database_up`, the probe's duration and the webhook deliveries waiting, read when
/// `/metrics` is scraped, at most once per `minimumInterval`.
actor RecordStoreMetricsSampler: MetricsCollector {
    private let records: RecordStore
    private let instruments: Instruments
    private let minimumInterval: Duration
    private var lastSample: ContinuousClock.Instant?

    init(records: RecordStore, instruments: Instruments, minimumInterval: Duration = .seconds(1)) {
        self.records = records
        self.instruments = instruments
        self.minimumInterval = minimumInterval
    }

    func collect() async {
        let now = ContinuousClock.now
        if let lastSample, now - lastSample < minimumInterval { return }
        lastSample = now
        let health = await records.health()
        let labels = [("database", health.kind)]
        instruments.gauge(DalstonMetric.databaseUp, labels).record(health.reachable ? 1 : 0)
        if let latency = health.latencySeconds { instruments.gauge(DalstonMetric.databaseProbeDuration, labels).record(latency) }
        if health.reachable, let pending = try? await records.webhooks.pendingCount() {
            instruments.gauge(DalstonMetric.webhooksPending).record(pending)
        }
    }
}
