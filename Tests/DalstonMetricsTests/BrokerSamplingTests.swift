import DalstonBroker
import DalstonMetrics
import DalstonPipeline
import DalstonRuntime
import DalstonTestSupport
import Foundation
import Testing

@Suite("Metrics sampled from the broker")
struct BrokerSamplingTests {
    func task(_ number: Int, engine: String) -> TaskEnvelope {
        TaskEnvelope(taskID: "task_\(number)", jobID: "job_\(number)", engineID: engine, stage: "transcribe")
    }

    @Test func queueWorkerAndJobGaugesComeFromTheBrokerOnScrape() async throws {
        let broker = InMemoryBroker()
        try await withTeardown({ await broker.shutdown() }) {
            let metrics = MetricsRuntime.standalone(service: "orchestrator")
            let sampler = BrokerMetricsSampler(broker: broker, brokerKind: "in-memory", instruments: metrics.instruments(for: "orchestrator"), minimumInterval: .seconds(60))
            metrics.exposition?.add(sampler)

            for number in 1...3 { try await broker.enqueue(task(number, engine: "transcribe")) }
            _ = try await broker.receive(engine: "transcribe", consumer: "w1", waitUpTo: .seconds(1))
            try await broker.heartbeat(WorkerHeartbeat(workerID: "w1", engineID: "transcribe", status: "running"))
            for (score, job) in ["job_1", "job_2"].enumerated() {
                _ = try await broker.transition(StateTransition(.job(job), effects: [.addToIndex(PipelineIndex.activeJobs, member: job, score: Double(score))]))
            }

            let first = Exposition(try #require(await metrics.exposition?.render()))
            #expect(first.value("dalston_queue_depth", ["engine_id": "transcribe", "service": "orchestrator"]) == 2)
            #expect(first.value("dalston_queue_in_flight", ["engine_id": "transcribe"]) == 1)
            #expect(first.value("dalston_queue_dead_letter_depth", ["engine_id": "transcribe"]) == 0)
            #expect((first.value("dalston_queue_oldest_task_age_seconds", ["engine_id": "transcribe"]) ?? -1) >= 0)
            #expect(first.value("dalston_engine_workers_alive", ["engine_id": "transcribe"]) == 1)
            #expect(first.value("dalston_engine_workers_alive", ["engine_id": "merge"]) == 0, "engines with no worker report 0, not nothing")
            #expect(first.value("dalston_queue_depth", ["engine_id": "merge"]) == 0)
            #expect(first.value("dalston_jobs_in_progress") == 2)
            #expect(first.value("dalston_broker_up", ["broker": "in-memory"]) == 1)

            // A second scrape within the interval does not touch the broker.
            try await broker.enqueue(task(9, engine: "transcribe"))
            let second = Exposition(try #require(await metrics.exposition?.render()))
            #expect(second.value("dalston_queue_depth", ["engine_id": "transcribe"]) == 2)
        }
    }

    @Test func anUnreachableBrokerIsReportedAndCounted() async throws {
        let broker = try BrokerFactory.make(environment: ["REDIS_URL": "redis://127.0.0.1:1/0"])
        try await withTeardown({ await broker.shutdown() }) {
            let metrics = MetricsRuntime.standalone(service: "orchestrator")
            metrics.exposition?.add(BrokerMetricsSampler(broker: broker, brokerKind: "redis", instruments: metrics.instruments(for: "orchestrator"), minimumInterval: .zero))
            _ = await metrics.exposition?.render()
            let exposition = Exposition(try #require(await metrics.exposition?.render()))
            #expect(exposition.value("dalston_broker_up", ["broker": "redis"]) == 0)
            #expect(exposition.value("dalston_metrics_sample_errors_total") == 2)
        }
    }

    static let promtool = findExecutable(["/usr/bin/promtool", "/usr/local/bin/promtool"])

    @Test(.enabled(if: promtool != nil || TestTools.areRequired, "promtool is not installed (apt-get install prometheus)"))
    func everyMetricTogetherPassesPromtoolLint() async throws {
        let promtool = try #require(Self.promtool, "CI must install promtool (Debian's prometheus package)")
        let metrics = MetricsRuntime.standalone(service: "dalston")
        let instruments = metrics.instruments(for: "test")
        for metric in DalstonMetric.all {
            let labels = metric.labels.map { ($0, "x") }
            switch metric.kind {
            case .counter where metric.name == DalstonMetric.processCPU.name: instruments.floatingCounter(metric, labels).increment(by: 0.5)
            case .counter: instruments.counter(metric, labels).increment()
            case .gauge: instruments.gauge(metric, labels).record(1)
            case .histogram: instruments.timer(metric, labels).record(seconds: 0.3)
            }
        }
        let text = try #require(await metrics.exposition?.render())
        let result = try await runProcess(promtool, arguments: ["check", "metrics"], input: Data(text))
        #expect(result.status == 0 && result.stdout.isEmpty && result.stderr.isEmpty, "promtool: \(result.stdout) \(result.stderr)")
    }
}
