import DalstonBroker
import DalstonGateway
import DalstonPipeline
import DalstonRecords
import DalstonRecordsSQLite
import DalstonRedis
import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle

/// What a per-key request limit costs: `GET /v1/models` over HTTP with a key that has a rate
/// limit (so every request counts against it) against a key that has none (so none does), on a
/// gateway whose counter is in process (`dalston up`) and on one whose counter is in Redis
/// (several gateways), rounds interleaved, `BENCH_CLIENTS` concurrent clients.
func runRateLimitBenchmark() async throws {
    let requests = BenchmarkSettings.count("BENCH_REQUESTS", full: 3000, smoke: 40)
    let clients = BenchmarkSettings.count("BENCH_CLIENTS", full: 8, smoke: 2)
    let rounds = BenchmarkSettings.count("BENCH_ROUNDS", full: 3, smoke: 1)
    guard RedisServerProcess.isInstalled else {
        print("Rate limits: skipped (needs redis-server: scripts/setup.sh test installs it)")
        return
    }
    print("Rate limiter cost: GET /v1/models, \(requests) requests per run, \(clients) concurrent clients, median of \(rounds) rounds (interleaved)")
    let redis = try await RedisServerProcess()
    let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-limits-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let records = try await RecordStore.open(
        try await SQLiteRecordDatabase.open(path: directory.appendingPathComponent("dalston.sqlite").path, logger: logger), logger: logger)
    // High enough never to refuse: the run measures counting, not refusing.
    let limited = try await records.apiKeys.create(APIKeyTerms(name: "limited", scopes: [.jobsRead], rateLimit: 1_000_000)).secret
    let unlimited = try await records.apiKeys.create(name: "unlimited", scopes: [.jobsRead]).secret

    var brokers: [(name: String, broker: any Broker)] = [("in-process counter", InMemoryBroker())]
    let probe = ProcessInfo.processInfo.environment["BENCH_PROBE"] != nil
    var options = BrokerOptions()
    options.keyPrefix = "bench-limits"
    brokers.append(("Redis counter", RedisBroker(client: RedisClient(configuration: redis.configuration), options: options)))
    var gateways: [(name: String, base: String, group: ServiceGroup)] = []
    for (name, broker) in brokers {
        var configuration = GatewayConfiguration()
        configuration.port = try freeTCPPort()
        configuration.securityMode = .apiKey
        let gateway = Gateway(
            configuration: configuration, jobs: JobService(state: broker, events: broker, artifacts: FileArtifactStore(root: directory.appendingPathComponent(name.count.description)), logger: logger),
            queues: broker, workers: broker, brokerKind: name, records: records, rateCounter: probe ? FixedCounter() : broker, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [gateway.makeApplication()], logger: logger))
        Task { try? await group.run() }
        let base = "http://127.0.0.1:\(configuration.port)"
        try await waitUntilHealthy(URL(string: "\(base)/health")!)
        gateways.append((name, base, group))
    }
    var results: [String: [(perSecond: Double, p50: Double)]] = [:]
    for _ in 0..<rounds {
        for gateway in gateways {
            for (label, key) in [("no limit", unlimited), ("limit", limited)] {
                results["\(gateway.name)|\(label)", default: []].append(try await hammer(gateway.base + "/v1/models", key: key, requests: requests, clients: clients))
            }
        }
    }
    for gateway in gateways {
        let baseline = median(results["\(gateway.name)|no limit", default: []].map(\.perSecond))
        for label in ["no limit", "limit"] {
            let runs = results["\(gateway.name)|\(label)", default: []]
            let perSecond = median(runs.map(\.perSecond))
            print("  \(gateway.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(label.padding(toLength: 9, withPad: " ", startingAt: 0))"
                  + " \(String(format: "%7.0f req/s", perSecond))   p50 \(String(format: "%6.2f ms", median(runs.map(\.p50)) * 1000))"
                  + "   ratio \(String(format: "%.3f", perSecond / baseline))")
        }
        await gateway.group.triggerGracefulShutdown()
    }
    for (_, broker) in brokers { await broker.shutdown() }
    await records.close()
}

/// BENCH_PROBE: a counter that counts nothing, to tell the counter's cost from the rest.
private struct FixedCounter: RateCounter {
    func hit(_ name: String, window: Duration) async throws(BrokerError) -> WindowCount { WindowCount(count: 1, resetsIn: window) }
}

private func median(_ values: [Double]) -> Double {
    values.isEmpty ? 0 : values.sorted()[values.count / 2]
}

/// `requests` GETs from `clients` concurrent loops; throughput and median latency (seconds).
private func hammer(_ url: String, key: String, requests: Int, clients: Int) async throws -> (perSecond: Double, p50: Double) {
    guard let target = URL(string: url) else { throw BenchmarkFailure("not a URL: \(url)") }
    let request = {
        var request = URLRequest(url: target)
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        return request
    }()
    let start = ContinuousClock.now
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for client in 0..<clients {
            group.addTask {
                var own: [Double] = []
                for _ in stride(from: client, to: requests, by: clients) {
                    let begun = ContinuousClock.now
                    let (_, response) = try await URLSession.shared.data(for: request)
                    guard (response as? HTTPURLResponse)?.statusCode == 200 else {
                        throw BenchmarkFailure("GET \(url) answered \((response as? HTTPURLResponse)?.statusCode ?? 0)")
                    }
                    own.append((ContinuousClock.now - begun).seconds)
                }
                return own
            }
        }
        return try await group.reduce(into: []) { $0 += $1 }.sorted()
    }
    let seconds = (ContinuousClock.now - start).seconds
    return (Double(requests) / seconds, latencies.isEmpty ? 0 : latencies[latencies.count / 2])
}
