import DalstonCore
import DalstonBroker
import DalstonEngineSDK
import DalstonEngines
import DalstonGateway
import DalstonOrchestrator
import DalstonPipeline
import DalstonRedis
import DalstonRuntime
import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Jobs per second for a short WAV, in one process on the embedded broker and as five separate
/// processes on Redis, with where the time goes (queue wait vs processing) per stage.
func runPipelineBenchmark() async throws {
    let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Samples/hello-world.wav")
    let audio = try Data(contentsOf: sample)
    let jobCount = BenchmarkSettings.count("BENCH_JOBS", full: 20, smoke: 2)
    print("Pipeline: \(jobCount) jobs of \(sample.lastPathComponent) (3.7 s of speech), submitted at once")

    // One process, embedded broker: what `dalston up` runs, without HTTP.
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-\(UUID().uuidString)")
    var deployment = Deployment(broker: InMemoryBroker(), artifacts: FileArtifactStore(root: directory))
    deployment.runnerOptions.pollInterval = .milliseconds(500)
    let running = try deployment.start([.orchestrator] + deployment.engines.engineIDs.map { .engine($0) })
    let jobs = deployment.jobService()
    try await Task.sleep(for: .milliseconds(300))
    let start = ContinuousClock.now
    var ids: [String] = []
    for index in 0..<jobCount {
        ids.append(try await jobs.submit(JobSubmission(audio: Array(audio), filename: "bench.wav", requestID: "req_bench_\(index)")).id)
    }
    try await waitForAll(ids) { try await jobs.job($0)?.status }
    let embeddedSeconds = (ContinuousClock.now - start).seconds
    let embeddedBreakdown = try await breakdown(ids, store: jobs.store)
    await running.stop()
    try? FileManager.default.removeItem(at: directory)
    report("dalston up (one process, in-memory broker)", jobs: jobCount, seconds: embeddedSeconds, breakdown: embeddedBreakdown)

    // Five processes on Redis, submitted over HTTP.
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dalston")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        print("  (separate processes skipped: build `dalston` in the same configuration first: swift build -c release --product dalston)")
        return
    }
    let server = try await RedisServerProcess()
    let port = try freeTCPPort()
    let data = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-\(UUID().uuidString)")
    // Each service picks a free metrics port of its own (several on one host would clash on a fixed one).
    let environment = ["REDIS_URL": server.url, "DALSTON_PORT": "\(port)", "DALSTON_HOST": "127.0.0.1", "DALSTON_DATA_DIR": data.path,
                       "LOG_LEVEL": "warning", "LOG_FORMAT": "json", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    var children: [BenchmarkChild] = []
    defer {
        for child in children { child.stop() }
        try? FileManager.default.removeItem(at: data)
    }
    for arguments in [["gateway"], ["orchestrator"], ["engine", "audio-prepare"], ["engine", "transcribe"], ["engine", "merge"]] {
        children.append(try BenchmarkChild(name: "dalston " + arguments.joined(separator: " "), executable: binary, arguments: arguments, environment: environment))
    }
    let base = URL(string: "http://127.0.0.1:\(port)/")!
    try await waitUntilHealthy(base.appendingPathComponent("health"), children: children)
    let redisBroker = RedisBroker(client: RedisClient(configuration: server.configuration))
    try await Task.sleep(for: .seconds(1))
    let commandsBefore = try await RedisCommandCount.read(redisBroker.client)
    let monitor = try RedisMonitor(port: server.port)
    let redisStart = ContinuousClock.now
    var remoteIDs: [String] = []
    for index in 0..<jobCount {
        remoteIDs.append(try await upload(audio, to: base, requestID: "req_bench_redis_\(index)"))
    }
    // Done when no job is active any more (read with ZCARD, which the counts below leave out, so
    // that waiting costs nothing in them).
    let store = JobStore(state: redisBroker)
    var lastActive = Int.max
    var lastProgress = ContinuousClock.now
    while true {
        let active = try await store.activeJobIDs(limit: jobCount + 1).count
        if active == 0 { break }
        if active < lastActive { lastActive = active; lastProgress = .now }
        for child in children { try child.checkAlive() }
        if ContinuousClock.now - lastProgress > BenchmarkSettings.stallTimeout {
            throw BenchmarkFailure("no job finished in \(BenchmarkSettings.stallTimeout) on Redis (\(active) of \(jobCount) still active)")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    let redisSeconds = (ContinuousClock.now - redisStart).seconds
    let commandsAfter = try await RedisCommandCount.read(redisBroker.client)
    let monitored = monitor.stop()
    for id in remoteIDs where try await store.job(id)?.status != .completed { throw BenchmarkFailure("job \(id) did not complete") }
    report("separate processes on Redis (HTTP submit)", jobs: jobCount, seconds: redisSeconds, breakdown: try await breakdown(remoteIDs, store: store))
    let total = commandsAfter.total(excluding: ["info", "zrange", "zcard"]) - commandsBefore.total(excluding: ["info", "zrange", "zcard"])
    print("    Redis commands per completed job: \(String(format: "%.1f", Double(total) / Double(jobCount))) executed by Redis (INFO commandstats), "
        + "of which \(String(format: "%.1f", Double(monitored.client) / Double(jobCount))) sent by the services (round trips, MONITOR) and "
        + "\(String(format: "%.1f", Double(monitored.script) / Double(jobCount))) run inside their Lua scripts")
    print("    by command: " + commandsAfter.difference(from: commandsBefore).sorted { $0.value > $1.value }
        .map { "\($0.key) \(String(format: "%.1f", Double($0.value) / Double(jobCount)))" }.joined(separator: ", "))
    await redisBroker.shutdown()
}

func upload(_ audio: Data, to base: URL, requestID: String) async throws -> String {
    var form = MultipartFormBody()
    form.addFile("file", filename: "bench.wav", contents: Array(audio))
    let body = Data(form.encoded)
    var request = URLRequest(url: base.appendingPathComponent("v1/audio/transcriptions"))
    request.httpMethod = "POST"
    request.setValue(form.contentType, forHTTPHeaderField: "Content-Type")
    request.setValue(requestID, forHTTPHeaderField: "X-Request-ID")
    let (data, _) = try await URLSession.shared.upload(for: request, from: body)
    guard let id = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["id"] as? String else {
        throw BenchmarkFailure("upload failed: \(String(decoding: data, as: UTF8.self))")
    }
    return id
}

/// Mean seconds per stage: waiting in the queue (queued to the start of the work), and
/// processing (the engine's own measure, from its outcome report).
private func breakdown(_ ids: [String], store: JobStore) async throws -> [(stage: String, wait: Double, work: Double)] {
    var result: [(String, Double, Double)] = []
    for stage in ["prepare", "transcribe", "merge"] {
        var waits: [Double] = []
        var works: [Double] = []
        for id in ids {
            guard let task = try await store.job(id)?.tasks[stage], let queued = task.queuedAt, let completed = task.completedAt,
                  let work = task.report?.durationSeconds else { continue }
            waits.append(max(0, completed.timeIntervalSince(queued) - work))
            works.append(work)
        }
        result.append((stage, waits.reduce(0, +) / Double(max(1, waits.count)), works.reduce(0, +) / Double(max(1, works.count))))
    }
    return result
}

/// `INFO commandstats`: calls per command, counting those run inside scripts.
struct RedisCommandCount {
    let calls: [String: Int]

    static func read(_ client: RedisClient) async throws -> RedisCommandCount {
        let info = try await client.send(RedisCommand("INFO", "commandstats")).string ?? ""
        var calls: [String: Int] = [:]
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }
            if let range = line.range(of: "calls="), let count = Int(line[range.upperBound...].prefix { $0.isNumber }) {
                calls[String(name)] = count
            }
        }
        return RedisCommandCount(calls: calls)
    }

    func total(excluding: Set<String>) -> Int {
        calls.filter { !excluding.contains($0.key) }.values.reduce(0, +)
    }

    func difference(from before: RedisCommandCount) -> [String: Int] {
        calls.compactMapValues { $0 }.reduce(into: [:]) { result, entry in
            let delta = entry.value - (before.calls[entry.key] ?? 0)
            if delta > 0, !["info", "zcard", "zrange"].contains(entry.key) { result[entry.key] = delta }
        }
    }
}

/// `redis-cli monitor` while the jobs run: tells commands the services sent from those their
/// scripts ran (`[0 lua]`).
final class RedisMonitor: @unchecked Sendable {
    private let process = Process()
    private let output: URL

    init(port: Int) throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-monitor-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        process.arguments = ["-p", "\(port)", "monitor"]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        ChildProcessRegistry.track(process.processIdentifier)
        Thread.sleep(forTimeInterval: 0.3)
    }

    func stop() -> (client: Int, script: Int) {
        stopChild(process)
        defer { try? FileManager.default.removeItem(at: output) }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        var client = 0
        var script = 0
        for line in text.split(separator: "\n") {
            let lowered = line.lowercased()
            guard line.contains("]"), !lowered.contains("\"zcard\""), !lowered.contains("\"info\""), !lowered.contains("\"zrange\"") else { continue }
            if line.contains(" lua]") { script += 1 } else { client += 1 }
        }
        return (client, script)
    }
}

private func report(_ name: String, jobs: Int, seconds: Double, breakdown: [(stage: String, wait: Double, work: Double)]) {
    print("  \(name): \(String(format: "%.2f", Double(jobs) / seconds)) jobs/s (\(jobs) jobs in \(String(format: "%.1f", seconds)) s)")
    for entry in breakdown {
        print("    \(entry.stage.padding(toLength: 11, withPad: " ", startingAt: 0)) queue wait \(String(format: "%6.3f", entry.wait)) s   processing \(String(format: "%6.3f", entry.work)) s (mean per task)")
    }
}
