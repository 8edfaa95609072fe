import DalstonAudio
import DalstonBroker
import DalstonPipeline
import DalstonRecords
import DalstonRecordsPostgres
import DalstonRecordsSQLite
import DalstonRedis
import DalstonTestSupport
import Foundation
import Logging

/// Job submissions per second and their latency (p50, p99) with the job history in SQLite and in
/// PostgreSQL, against the Redis-only store, in one run: `JobService.submit` (store the audio,
/// record the job, queue it) from `BENCH_SUBMITTERS` concurrent callers, rounds interleaved.
func runRecordsBenchmark() async throws {
    let jobs = BenchmarkSettings.count("BENCH_JOBS", full: 2000, smoke: 32)
    let submitters = BenchmarkSettings.count("BENCH_SUBMITTERS", full: 16, smoke: 4)
    let rounds = BenchmarkSettings.count("BENCH_ROUNDS", full: 3, smoke: 1)
    guard RedisServerProcess.isInstalled, PostgresServerProcess.isInstalled else {
        print("Records: skipped (needs redis-server and PostgreSQL: scripts/setup.sh test installs them)")
        return
    }
    print("Job submissions: \(jobs) jobs of 0.1 s WAV per round, \(submitters) concurrent submitters, median of \(rounds) rounds (interleaved)")
    let redis = try await RedisServerProcess()
    let postgres = try await PostgresServerProcess()
    let logger = Logger(label: "bench")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-records-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let audio = WAVEncoder.encode16BitMono((0..<1600).map { sin(Float($0) / 4) * 0.2 }, sampleRate: 16_000)

    let sqlite = try await RecordStore.open(try await SQLiteRecordDatabase.open(path: directory.appendingPathComponent("dalston.sqlite").path, logger: logger), logger: logger)
    let postgresStore = try await RecordStore.open(
        await PostgresRecordDatabase.connect(url: try PostgresURL(try await postgres.createDatabase()), logger: logger), logger: logger)
    let configurations: [(name: String, history: (any JobHistory)?)] = [
        ("Redis only (today's store)", nil), ("Redis + SQLite history", sqlite.jobs), ("Redis + PostgreSQL history", postgresStore.jobs),
    ]
    var results: [String: [(perSecond: Double, p50: Double, p99: Double)]] = [:]
    for round in 0..<rounds {
        for configuration in configurations {
            var options = BrokerOptions()
            options.keyPrefix = "bench\(round)-\(configuration.name.count)"
            let broker = RedisBroker(client: RedisClient(configuration: redis.configuration), options: options)
            let service = JobService(
                state: broker, events: broker, artifacts: FileArtifactStore(root: directory.appendingPathComponent("artifacts")),
                history: configuration.history, logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
            results[configuration.name, default: []].append(try await submit(jobs, by: submitters, audio: audio, to: service))
            await broker.shutdown()
        }
    }
    let baseline = median(results[configurations[0].name, default: []].map(\.perSecond))
    for configuration in configurations {
        let runs = results[configuration.name, default: []]
        let perSecond = median(runs.map(\.perSecond))
        print("  \(configuration.name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(String(format: "%7.0f jobs/s", perSecond))"
              + "   p50 \(String(format: "%6.2f ms", median(runs.map(\.p50)) * 1000))   p99 \(String(format: "%6.2f ms", median(runs.map(\.p99)) * 1000))"
              + "   ratio \(String(format: "%.2f", perSecond / baseline))")
    }
    await sqlite.close()
    await postgresStore.close()
}

private func median(_ values: [Double]) -> Double {
    values.isEmpty ? 0 : values.sorted()[values.count / 2]
}

/// Submits `count` jobs from `submitters` tasks; throughput and latency percentiles (seconds).
private func submit(_ count: Int, by submitters: Int, audio: [UInt8], to service: JobService) async throws -> (perSecond: Double, p50: Double, p99: Double) {
    let start = ContinuousClock.now
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for submitter in 0..<submitters {
            group.addTask {
                var own: [Double] = []
                for index in stride(from: submitter, to: count, by: submitters) {
                    let begun = ContinuousClock.now
                    _ = try await service.submit(JobSubmission(audio: audio, filename: "bench.wav", requestID: "req_bench_\(index)"))
                    own.append((ContinuousClock.now - begun).seconds)
                }
                return own
            }
        }
        return try await group.reduce(into: []) { $0 += $1 }.sorted()
    }
    let seconds = (ContinuousClock.now - start).seconds
    let percentile = { (fraction: Double) in latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))] }
    return (Double(count) / seconds, percentile(0.5), percentile(0.99))
}
