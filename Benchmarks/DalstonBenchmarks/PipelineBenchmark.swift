import DalstonBroker
import DalstonEngineSDK
import DalstonEngines
import DalstonGateway
import DalstonOrchestrator
import DalstonPipeline
import DalstonRedis
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
    let jobCount = Int(ProcessInfo.processInfo.environment["BENCH_JOBS"] ?? "") ?? 20
    print("Pipeline: \(jobCount) jobs of \(sample.lastPathComponent) (3.7 s of speech), submitted at once")

    // One process, embedded broker: what `dalston up` runs, without HTTP.
    let broker = InMemoryBroker()
    let artifacts = ArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-\(UUID().uuidString)"))
    let jobs = JobService(broker: broker, artifacts: artifacts)
    let orchestrator = Orchestrator(broker: broker)
    var runnerOptions = EngineRunnerOptions()
    runnerOptions.pollInterval = .milliseconds(500)
    var running = [Task { await orchestrator.run() }]
    for engine in [AudioPrepareEngine(), try TranscribeEngine.make(), MergeEngine()] as [any Engine] {
        let runner = EngineRunner(engine: engine, broker: broker, artifacts: artifacts, options: runnerOptions)
        running.append(Task { await runner.run() })
    }
    try await Task.sleep(for: .milliseconds(300))
    let start = ContinuousClock.now
    var ids: [String] = []
    for index in 0..<jobCount {
        ids.append(try await jobs.submit(JobSubmission(audio: Array(audio), filename: "bench.wav", requestID: "req_bench_\(index)")).id)
    }
    try await waitForAll(ids) { try await jobs.job($0)?.status }
    let embeddedSeconds = (ContinuousClock.now - start).secondsValue
    let embeddedBreakdown = try await breakdown(ids, broker: broker)
    for task in running { task.cancel() }
    await broker.shutdown()
    try? FileManager.default.removeItem(at: artifacts.root)
    report("dalston up (one process, in-memory broker)", jobs: jobCount, seconds: embeddedSeconds, breakdown: embeddedBreakdown)

    // Five processes on Redis, submitted over HTTP.
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dalston")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        print("  (separate processes skipped: build `dalston` in the same configuration first: swift build -c release --product dalston)")
        return
    }
    let server = try await RedisServerProcess()
    let port = 18_000 + Int.random(in: 0..<1000)
    let data = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-\(UUID().uuidString)")
    let environment = ["REDIS_URL": server.url, "DALSTON_PORT": "\(port)", "DALSTON_DATA_DIR": data.path, "LOG_LEVEL": "warning",
                       "LOG_FORMAT": "json", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    var processes: [Process] = []
    for arguments in [["gateway"], ["orchestrator"], ["engine", "audio-prepare"], ["engine", "transcribe"], ["engine", "merge"]] {
        processes.append(try launchQuietly(binary, arguments, environment: environment))
    }
    defer { for process in processes where process.isRunning { process.terminate(); process.waitUntilExit() } }
    let base = URL(string: "http://127.0.0.1:\(port)/")!
    _ = await eventually(timeout: .seconds(20)) { (try? await URLSession.shared.data(from: base.appendingPathComponent("health")))?.1 != nil }
    let redisStart = ContinuousClock.now
    var remoteIDs: [String] = []
    for index in 0..<jobCount {
        remoteIDs.append(try await upload(audio, to: base, requestID: "req_bench_redis_\(index)"))
    }
    let redisBroker = RedisBroker(client: RedisClient(configuration: server.configuration))
    try await waitForAll(remoteIDs) { id in
        let (body, _) = try await URLSession.shared.data(from: base.appendingPathComponent("v1/audio/transcriptions/\(id)"))
        return ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["status"].flatMap { ($0 as? String).flatMap(JobStatus.init(rawValue:)) }
    }
    let redisSeconds = (ContinuousClock.now - redisStart).secondsValue
    report("separate processes on Redis (HTTP submit)", jobs: jobCount, seconds: redisSeconds, breakdown: try await breakdown(remoteIDs, broker: redisBroker))
    await redisBroker.shutdown()
    try? FileManager.default.removeItem(at: data)
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
        throw BrokerError.unavailable("upload failed: \(String(decoding: data, as: UTF8.self))")
    }
    return id
}

func waitForAll(_ ids: [String], status: (String) async throws -> JobStatus?) async throws {
    var pending = Set(ids)
    while !pending.isEmpty {
        for id in pending {
            if let current = try await status(id), current.isFinal {
                if current != .completed { throw BrokerError.unavailable("job \(id) ended \(current.rawValue)") }
                pending.remove(id)
            }
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Mean seconds per stage: waiting in the queue, and processing.
private func breakdown(_ ids: [String], broker: any Broker) async throws -> [(stage: String, wait: Double, work: Double)] {
    let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    var result: [(String, Double, Double)] = []
    for stage in ["prepare", "transcribe", "merge"] {
        var waits: [Double] = []
        var works: [Double] = []
        for id in ids {
            let record = try await broker.state(.task("\(id)_\(stage)"))
            guard let queued = record[TaskField.queuedAt].flatMap({ try? Date($0, strategy: style) }),
                  let started = record[TaskField.startedAt].flatMap({ try? Date($0, strategy: style) }),
                  let completed = record[TaskField.completedAt].flatMap({ try? Date($0, strategy: style) }) else { continue }
            waits.append(started.timeIntervalSince(queued))
            works.append(completed.timeIntervalSince(started))
        }
        result.append((stage, waits.reduce(0, +) / Double(max(1, waits.count)), works.reduce(0, +) / Double(max(1, works.count))))
    }
    return result
}

private func report(_ name: String, jobs: Int, seconds: Double, breakdown: [(stage: String, wait: Double, work: Double)]) {
    print("  \(name): \(String(format: "%.2f", Double(jobs) / seconds)) jobs/s (\(jobs) jobs in \(String(format: "%.1f", seconds)) s)")
    for entry in breakdown {
        print("    \(entry.stage.padding(toLength: 11, withPad: " ", startingAt: 0)) queue wait \(String(format: "%6.3f", entry.wait)) s   processing \(String(format: "%6.3f", entry.work)) s (mean per task)")
    }
}
