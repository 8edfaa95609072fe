import DalstonCore
import DalstonBroker
import DalstonRedis
import DalstonTestSupport
import Foundation
import NIOPosix

/// Our Redis client against `redis-benchmark` on the same server in the same run, with and
/// without pipelining, and the broker's enqueue → receive → acknowledge round trip.
func runRedisBenchmark() async throws {
    let server = try await RedisServerProcess()
    let requests = BenchmarkSettings.count("BENCH_REDIS_REQUESTS", full: 200_000, smoke: 3_200)
    let clients = 16
    let runs = BenchmarkSettings.count("BENCH_REDIS_RUNS", full: 5, smoke: 1)
    print("Redis on 127.0.0.1:\(server.port), \(requests) requests per test, \(clients) connections; median of \(runs) runs each side")
    print("test".padding(toLength: 34, withPad: " ", startingAt: 0) + "dalston ops/s".leftPadded(16) + "redis-benchmark".leftPadded(18) + "ratio".leftPadded(8))
    for pipeline in [16, 1] {
        // Runs alternate between redis-benchmark and ours, and the median of each is compared:
        // both sides are noisy on a small machine, and alternating spreads the noise evenly.
        var theirs: [String: [Double]] = [:]
        var ours: [String: [Double]] = [:]
        for _ in 0..<runs {
            for (test, rate) in redisBenchmark(port: server.port, requests: requests, clients: clients, pipeline: pipeline) {
                theirs[test, default: []].append(rate)
            }
            for command in ["SET", "GET"] {
                ours[command, default: []].append(
                    try await clientThroughput(server: server, command: command, requests: requests, clients: clients, pipeline: pipeline))
                // The same client with its callers left on the cooperative pool (two thread
                // crossings per round trip): what running them on the event loop saves.
                ours[command + " on the pool", default: []].append(try await clientThroughput(
                    server: server, command: command, requests: requests, clients: clients, pipeline: pipeline, onEventLoop: false))
            }
        }
        for command in ["SET", "GET", "SET on the pool", "GET on the pool"] {
            let ourRate = median(ours[command] ?? [0])
            let theirRate = theirs[String(command.prefix(3))].map(median)
            let ratio = theirRate.map { String(format: "%.2f", ourRate / $0) } ?? "-"
            let name = "\(command.prefix(3)), \(pipeline == 1 ? "no pipelining" : "pipeline \(pipeline)")\(command.dropFirst(3))"
            print(name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%.0f", ourRate).leftPadded(16)
                + (theirRate.map { String(format: "%.0f", $0) } ?? "-").leftPadded(18) + ratio.leftPadded(8))
        }
    }

    print("\nOne task at a time: enqueue → receive → acknowledge (ms)")
    let single = redisBenchmark(port: server.port, requests: BenchmarkSettings.isSmoke ? 500 : 20_000, clients: 1, pipeline: 1, tests: "ping")
    let redisBroker = RedisBroker(client: RedisClient(configuration: server.configuration))
    let inMemory = InMemoryBroker()
    for (name, broker) in [("RedisBroker", redisBroker as any Broker), ("InMemoryBroker", inMemory as any Broker)] {
        let latencies = try await roundTrips(broker, count: BenchmarkSettings.isSmoke ? 50 : 2_000)
        print("  " + name.padding(toLength: 16, withPad: " ", startingAt: 0)
            + String(format: "p50 %.3f   p99 %.3f   mean %.3f", percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.reduce(0, +) / Double(latencies.count)))
        await broker.shutdown()
    }
    if let ping = single["PING_INLINE"] ?? single["PING_MBULK"] {
        print("  (redis-benchmark, one connection, no pipelining: \(String(format: "%.0f", ping)) PING/s = \(String(format: "%.3f", 1000 / ping)) ms per round trip)")
    }
}

/// Operations per second of `requests` commands over `clients` connections, each keeping
/// `pipeline` commands in flight (the way `redis-benchmark -P` does).
private func clientThroughput(
    server: RedisServerProcess, command: String, requests: Int, clients: Int, pipeline: Int, onEventLoop: Bool = true
) async throws -> Double {
    var configuration = server.configuration
    configuration.maximumConnections = clients
    configuration.runsCommandsOnEventLoop = onEventLoop
    // One event-loop thread, like redis-benchmark's one thread: on a small machine more threads
    // only compete with redis-server for the cores.
    let client = RedisClient(configuration: configuration, eventLoopGroup: singleThreadGroup)
    defer { Task { await client.shutdown() } }
    // Commands are built before the clock starts, as redis-benchmark's are: this times the transport.
    let value = RedisArgument(bytes: Array(repeating: UInt8(ascii: "x"), count: 3))
    let prepared = (0..<10_000).map { index in
        command == "SET" ? RedisCommand("SET", RedisArgument("key:\(index)"), value) : RedisCommand("GET", RedisArgument("key:\(index)"))
    }
    try await client.ping()
    let perClient = requests / clients
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<clients {
            group.addTask {
                try await client.withConnection { connection throws(RedisError) in
                    var sent = 0
                    while sent < perClient {
                        let batch = (0..<min(pipeline, perClient - sent)).map { prepared[(worker * perClient + sent + $0) % prepared.count] }
                        if pipeline == 1 {
                            _ = try await connection.send(batch[0])
                        } else {
                            for case .failure(let error) in await connection.pipeline(batch) { throw error }
                        }
                        sent += batch.count
                    }
                }
            }
        }
        try await group.waitForAll()
    }
    return Double(perClient * clients) / (ContinuousClock.now - start).seconds
}

/// `redis-benchmark ... --csv`: requests per second by test name.
private func redisBenchmark(port: Int, requests: Int, clients: Int, pipeline: Int, tests: String = "set,get") -> [String: Double] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["redis-benchmark", "-h", "127.0.0.1", "-p", "\(port)", "-t", tests, "-n", "\(requests)",
                         "-c", "\(clients)", "-P", "\(pipeline)", "-d", "3", "-r", "10000", "--csv"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return [:] }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    var results: [String: Double] = [:]
    for line in text.split(whereSeparator: \.isNewline) {
        let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        if fields.count >= 2, let rps = Double(fields[1]) { results[fields[0]] = rps }
    }
    return results
}

private func roundTrips(_ broker: any Broker, count: Int) async throws -> [Double] {
    var latencies: [Double] = []
    latencies.reserveCapacity(count)
    for index in 0..<(count + 100) {
        let start = ContinuousClock.now
        try await broker.enqueue(TaskEnvelope(taskID: "task_\(index)", jobID: "job", engineID: "bench", stage: "bench"))
        guard let task = try await broker.receive(engine: "bench", consumer: "bench", waitUpTo: .seconds(5)) else {
            throw BenchmarkFailure("a task enqueued on the \(type(of: broker)) did not arrive within 5 s")
        }
        try await broker.acknowledge(task)
        if index >= 100 { latencies.append((ContinuousClock.now - start).seconds * 1000) }  // first 100: warm-up
    }
    return latencies
}

private let singleThreadGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

private func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

extension Range where Bound == Int {
    func asyncMap<T>(_ transform: (Int) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for value in self { results.append(try await transform(value)) }
        return results
    }
}
