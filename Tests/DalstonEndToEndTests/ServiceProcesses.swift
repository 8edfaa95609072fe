import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The built `dalston` binary.
enum DalstonBinary {
    static var url: URL { BuiltProducts.dalston }
}

/// One `dalston` service running as its own process, its stdout (JSON logs) going to a file.
final class ServiceProcess: @unchecked Sendable {
    let name: String
    let logFile: URL
    private let process = Process()
    /// The process id (tests read its memory in /proc).
    var pid: Int32 { process.processIdentifier }

    init(name: String, executable: URL = DalstonBinary.url, arguments: [String], environment: [String: String], logDirectory: URL) throws {
        self.name = name
        self.logFile = logDirectory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Asked of the kernel too: Foundation may never hear that a child ended (see `ChildExit`),
    /// and a supervisor restarting dead services must not take a dead one for running.
    var isRunning: Bool { ChildExit.isRunningChild(process) }

    /// The exit status once the process has ended (waited for on a thread of its own); nil if
    /// it has not ended within a minute.
    func exitStatus() async -> Int32? {
        let process = self.process
        return await onThread { ChildExit.exitStatusBlocking(process) }
    }

    /// SIGKILL, like a crash; returns once the process is dead (see `ChildExit` for why not
    /// `waitUntilExit`).
    func kill() {
        ChildExit.kill(process)
    }

    /// Sends SIGTERM and returns at once: waiting for a graceful shutdown here would block a
    /// thread of the concurrency pool (two on CI) for seconds and stall every other test.
    func terminate() {
        guard isRunning else { return }
        process.terminate()
    }

    /// SIGTERM, then waits for the exit on a thread of its own.
    func terminateAndWait() async {
        terminate()
        await ChildExit.wait(process, timeout: .seconds(60))
    }

    /// Every JSON line the process wrote (non-JSON lines are reported as a failure by callers).
    func logLines() -> [[String: Any]] {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func rawLines() -> [String] {
        ((try? String(contentsOf: logFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    deinit { terminate() }
}

/// Gateway, orchestrator and the three engines as separate `dalston` processes on a fresh
/// redis-server; each process serves `/metrics` on a port of its own (`metricsPorts`).
final class Deployment: @unchecked Sendable {
    let redis: RedisServerProcess
    let logDirectory: URL
    let environment: [String: String]
    let client: GatewayClient
    var services: [String: ServiceProcess] = [:]
    var metricsPorts: [String: Int] = [:]
    let gatewayPort: Int
    /// Each service gets a data directory of its own (no files shared, as on separate machines).
    let separateDataDirectories: Bool

    /// `extraEnvironment` is added to every service's environment (e.g. the OTLP endpoint);
    /// `redisAppendOnly` gives Redis an append-only file, for tests that restart it.
    /// `realtime` adds a realtime worker (`dalston realtime-worker`).
    /// `engines`: the batch engines to start, one process each (the transcribe stage's is
    /// `transcribe`, PocketSphinx, unless a Whisper test asks for `faster-whisper`).
    init(
        extraEnvironment: [String: String] = [:], redisAppendOnly: Bool = false, realtime: Bool = false,
        engines: [String] = ["audio-prepare", "transcribe", "merge"], separateDataDirectories: Bool = false
    ) async throws {
        self.separateDataDirectories = separateDataDirectories
        redis = try await RedisServerProcess(appendOnly: redisAppendOnly)
        logDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        let port = try freeTCPPort()
        gatewayPort = port
        environment = [
            "REDIS_URL": redis.url, "LOG_FORMAT": "json", "LOG_LEVEL": "info", "DALSTON_PORT": "\(port)", "DALSTON_HOST": "127.0.0.1",
            "DALSTON_DATA_DIR": logDirectory.appendingPathComponent("data").path, "DALSTON_TASK_VISIBILITY_TIMEOUT": "3",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ].merging(extraEnvironment) { $1 }
        client = GatewayClient(base: URL(string: "http://127.0.0.1:\(port)/")!)
        try start("gateway", ["gateway"])
        try start("orchestrator", ["orchestrator"])
        for engine in engines { try start(engine, ["engine", engine]) }
        if realtime { try start("realtime-worker", ["realtime-worker"]) }
        let up = await eventually(timeout: .seconds(30)) { (try? await self.client.request("GET", "health").status) == 200 }
        guard up else { throw TestSpeech.Unavailable(description: "the gateway did not come up: \(services["gateway"]?.rawLines().suffix(5) ?? [])") }
        // The orchestrator hears events once it logs orchestrator_started: a job created before
        // that would be picked up by a sweep instead, and the test would see another path.
        let listening = await eventually(timeout: .seconds(30)) {
            self.services["orchestrator"]?.logLines().contains { $0["event"] as? String == "orchestrator_started" } == true
        }
        guard listening else { throw TestSpeech.Unavailable(description: "the orchestrator did not start: \(services["orchestrator"]?.rawLines().suffix(5) ?? [])") }
    }

    /// Starts a service; a replacement (`as:`) serves metrics on the port of the one it replaces,
    /// where Prometheus already looks. `metricsPort` overrides the port (`nil`: unset, so the
    /// service picks the first free one from its default).
    func start(_ name: String, _ arguments: [String], as label: String? = nil, metricsPort override: Int?? = .none, extra: [String: String] = [:]) throws {
        var environment = environment.merging(extra) { $1 }
        if separateDataDirectories {
            environment["DALSTON_DATA_DIR"] = logDirectory.appendingPathComponent("machine-\(label ?? name)").path
        }
        if case .some(let port) = override {
            environment["METRICS_PORT"] = port.map(String.init)
        } else if name != "gateway" {
            let metricsPort = try metricsPorts[name] ?? freeTCPPort()
            metricsPorts[label ?? name] = metricsPort
            environment["METRICS_PORT"] = "\(metricsPort)"
        }
        services[label ?? name] = try ServiceProcess(name: label ?? name, arguments: arguments, environment: environment, logDirectory: logDirectory)
    }

    /// Where Prometheus scrapes each process (`host:port`, path `/metrics`).
    var metricsTargets: [String: String] {
        var targets = metricsPorts.mapValues { "127.0.0.1:\($0)" }
        targets["gateway"] = "127.0.0.1:\(gatewayPort)"
        return targets
    }

    func stop() {
        for service in services.values { service.terminate() }
    }
}

/// A small HTTP client for the gateway (Foundation's URLSession).
struct GatewayClient {
    let base: URL
    /// Sent with every request (an API key).
    var headers: [String: String] = [:]

    struct Reply {
        let status: Int
        let headers: [String: String]
        let json: [String: Any]
        /// The body as text (error messages).
        let text: String
        /// The body as it came (audio).
        let body: Data
    }

    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil) async throws -> Reply {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = method
        request.timeoutInterval = 30
        for (name, value) in self.headers.merging(headers, uniquingKeysWith: { $1 }) { request.setValue(value, forHTTPHeaderField: name) }
        let data: Data
        let response: URLResponse
        if let body {
            (data, response) = try await URLSession.shared.upload(for: request, from: body)
        } else {
            (data, response) = try await URLSession.shared.data(for: request)
        }
        let http = response as? HTTPURLResponse
        var replyHeaders: [String: String] = [:]
        for entry in http?.allHeaderFields ?? [:] { replyHeaders[String(describing: entry.key).lowercased()] = String(describing: entry.value) }
        return Reply(
            status: http?.statusCode ?? 0, headers: replyHeaders, json: (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:],
            text: String(decoding: data, as: UTF8.self), body: data)
    }

    func upload(_ audio: Data, requestID: String? = nil, fields: [String: String] = [:], headers extra: [String: String] = [:]) async throws -> Reply {
        let boundary = "e2e-\(UUID().uuidString)"
        var body = Data()
        for (name, value) in fields {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"speech.wav\"\r\nContent-Type: audio/wav\r\n\r\n".utf8))
        body.append(audio)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        var headers = extra.merging(["Content-Type": "multipart/form-data; boundary=\(boundary)"]) { $1 }
        if let requestID { headers["X-Request-ID"] = requestID }
        return try await request("POST", "v1/audio/transcriptions", headers: headers, body: body)
    }

    func waitForJob(_ id: String, timeout: Duration = .seconds(90)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            last = try await request("GET", "v1/audio/transcriptions/\(id)").json
            if let status = last["status"] as? String, ["completed", "failed", "cancelled"].contains(status) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        return last
    }
}
