import CoreMetrics
import DalstonBroker
import DalstonGateway
import DalstonMetrics
import DalstonPipeline
import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Logging
import ServiceLifecycle

/// Metrics cost on the hot path (ns per operation, against a no-op instrument in the same run)
/// and the gateway's requests per second with metrics on and off, driven by `wrk`.
func runMetricsBenchmark() async throws {
    print("Metrics: ns per operation (median of \(rounds) rounds of \(iterations))")
    let on = MetricsRuntime.standalone(service: "bench").instruments(for: "bench")
    let off = Instruments.disabled
    let labels = [("engine_id", "transcribe"), ("status", "completed")]
    let cachedCounter = on.counter(DalstonMetric.tasksProcessed, labels)
    let timerLabels = [("engine_id", "transcribe")]
    let cachedTimer = on.timer(DalstonMetric.taskDuration, timerLabels)
    var seconds = 0.0
    let rows: [(String, Double, Double)] = [
        ("counter increment, handle kept", measure { cachedCounter.increment() }, measure { off.counter(DalstonMetric.tasksProcessed, labels).increment() }),
        ("counter increment, looked up by labels", measure { on.increment(DalstonMetric.tasksProcessed, labels) },
         measure { off.increment(DalstonMetric.tasksProcessed, labels) }),
        ("counter looked up, handle returned", measure { on.counter(DalstonMetric.tasksProcessed, labels).increment() },
         measure { off.counter(DalstonMetric.tasksProcessed, labels).increment() }),
        ("histogram record, handle kept", measure { seconds += 0.001; cachedTimer.record(seconds: seconds.truncatingRemainder(dividingBy: 30)) },
         measure { off.timer(DalstonMetric.taskDuration, [("engine_id", "transcribe")]).record(seconds: 0.5) }),
        ("histogram record, looked up by labels", measure { on.record(DalstonMetric.taskDuration, timerLabels, seconds: 0.5) },
         measure { off.record(DalstonMetric.taskDuration, timerLabels, seconds: 0.5) }),
    ]
    print("  " + "case".padding(toLength: 42, withPad: " ", startingAt: 0) + "metrics on".leftPadded(12) + "no-op".leftPadded(10))
    for (name, measured, baseline) in rows {
        print("  " + name.padding(toLength: 42, withPad: " ", startingAt: 0) + cell(measured, width: 12) + cell(baseline, width: 10))
    }

    guard let wrk = findExecutable(["/usr/bin/wrk", "/usr/local/bin/wrk"]) else {
        print("  (gateway requests/s skipped: install wrk, e.g. apt-get install wrk)")
        return
    }
    let duration = BenchmarkSettings.count("BENCH_SECONDS", full: 5, smoke: 1)
    print("\nGateway: GET /v1/status and GET /health requests/s, wrk -t1 -c16 -d\(duration)s, metrics on vs off, alternating, median of 3")
    let withMetrics = try await BenchmarkGateway(metrics: .standalone(service: "gateway"))
    let without = try await BenchmarkGateway(metrics: .disabled)
    for path in ["v1/status", "health"] {
        var onRates: [Double] = []
        var offRates: [Double] = []
        for _ in 0..<3 {
            offRates.append(try await requestsPerSecond(wrk, url: "\(without.base)\(path)", seconds: duration))
            onRates.append(try await requestsPerSecond(wrk, url: "\(withMetrics.base)\(path)", seconds: duration))
        }
        let onMedian = onRates.sorted()[1]
        let offMedian = offRates.sorted()[1]
        print("  /\(path)".padding(toLength: 14, withPad: " ", startingAt: 0)
              + "on \(String(format: "%.0f", onMedian))/s  off \(String(format: "%.0f", offMedian))/s  on/off \(String(format: "%.3f", onMedian / offMedian))")
    }
    await withMetrics.stop()
    await without.stop()
    if let exposition = withMetrics.metrics.exposition {
        let text = Exposition(await exposition.render())
        let counted = text.samples["dalston_gateway_requests_total"]?.reduce(0) { $0 + $1.value } ?? 0
        print("  (the instrumented gateway counted \(Int(counted)) requests)")
    }
}

/// A gateway on a free loopback port, in this process, on the in-memory broker.
final class BenchmarkGateway: @unchecked Sendable {
    let metrics: MetricsRuntime
    let base: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(metrics: MetricsRuntime) async throws {
        self.metrics = metrics
        var configuration = GatewayConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = try freeTCPPort()
        base = "http://127.0.0.1:\(configuration.port)/"
        let broker = InMemoryBroker()
        let artifacts = FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-\(UUID().uuidString)"))
        let gateway = Gateway(
            configuration: configuration, jobs: JobService(state: broker, events: broker, artifacts: artifacts), queues: broker, workers: broker,
            brokerKind: "in-memory", metrics: metrics)
        let group = ServiceGroup(configuration: .init(services: [gateway.makeApplication()], logger: Logger(label: "dalston.benchmarks")))
        self.group = group
        task = Task { try await group.run() }
        let url = URL(string: base + "health")!
        _ = await eventually(timeout: .seconds(10)) { (try? await URLSession.shared.data(from: url)) != nil }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

func requestsPerSecond(_ wrk: URL, url: String, seconds: Int) async throws -> Double {
    let result = try await runProcess(wrk, arguments: ["-t1", "-c16", "-d\(seconds)s", "--latency", url])
    guard let line = result.stdout.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }),
          let value = Double(line.split(separator: " ").last ?? "")
    else { throw BenchmarkFailed(description: "wrk printed no rate: \(result.stdout) \(result.stderr)") }
    return value
}

struct BenchmarkFailed: Error, CustomStringConvertible {
    let description: String
}

/// A counter looked up by its labels, for `BENCH_SECONDS` (default 10), so that a profiler sees
/// only it: `perf record -g .build/release/dalston-benchmarks metrics-profile`.
func runMetricsProfile() {
    let instruments = MetricsRuntime.standalone(service: "bench").instruments(for: "bench")
    let labels = [("engine_id", "transcribe"), ("status", "completed")]
    let seconds = BenchmarkSettings.count("BENCH_SECONDS", full: 10, smoke: 1)
    let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds) * 1_000_000_000
    var calls = 0
    while DispatchTime.now().uptimeNanoseconds < end {
        for _ in 0..<100_000 { instruments.increment(DalstonMetric.tasksProcessed, labels) }
        calls += 100_000
    }
    print("metrics-profile: \(calls) lookups in \(seconds) s, \(String(format: "%.1f", Double(seconds) * 1e9 / Double(calls))) ns each")
}

