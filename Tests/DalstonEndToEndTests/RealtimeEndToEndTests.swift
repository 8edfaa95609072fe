import DalstonTestSupport
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import Testing

/// Realtime sessions through separate processes on a real redis-server: gateways and realtime
/// workers started as `dalston gateway` / `dalston realtime-worker`, real WebSocket clients, and
/// their JSON logs read back.
extension EndToEnd {
    @Suite(
        "Realtime across processes", .enabled("needs redis-server, PocketSphinx, Festival and the .venv's clients") { await RealtimeProcesses.shouldRun() },
        .serialized)
    struct RealtimeEndToEndTests {
        @Test func realClientsStreamSpeechAndEveryLogLineAboutTheSessionCarriesItsIDs() async throws {
            // Clients that close first (the SDKs) free their slot a moment later, when the worker
            // has finished their session: room for the next one to start at once.
            let deployment = try await RealtimeProcesses(workers: 1, capacity: 3)
            try await withTeardown({ await deployment.stop() }) {
                let speech = try await TestSpeech.wav(saying: "hello world, this is a test of the transcription system")
                let command = TestTools.pythonCommand([
                    OfficialClients.script("realtime_client_check.py").path, deployment.httpBase, RealtimeProcesses.apiKey, speech.path, "req-e2e-native",
                    "hello", "world", "test", "system",
                ])
                let result = try await runProcess(command.executable, arguments: command.arguments)
                let output = result.stdout + result.stderr
                #expect(result.status == 0, "\(output.suffix(3000))")
                #expect(output.components(separatedBy: "\nok: ").count + (output.hasPrefix("ok: ") ? 1 : 0) >= 7, "\(output.suffix(2000))")
                let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("SESSIONS ") })
                let sessions = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst("SESSIONS ".count).utf8)) as? [String: String])
                let native = try #require(sessions["native"])

                // The record, through the API.
                let reply = try await deployment.client.request("GET", "v1/realtime/sessions/\(native)", headers: deployment.authorization)
                #expect(reply.status == 200)
                let record = reply.json
                #expect(record["status"] as? String == "completed")
                #expect(record["request_id"] as? String == "req-e2e-native")
                #expect((record["transcript"] as? String)?.contains("hello world") == true)

                // Correlation: the session's lines in the gateway (and its router) and the worker.
                // Info lines reach the logs within the writer's flush interval (50 ms): wait for the last ones.
                let expectedEvents = ["realtime_connection_accepted", "session_allocated", "realtime_session_started", "realtime_session_ended", "realtime_session_finished", "session_released"]
                var gateway: [[String: Any]] = []
                var worker: [[String: Any]] = []
                _ = await eventually(timeout: .seconds(10)) {
                    gateway = deployment.gateways[0].logLines()
                    worker = deployment.workers[0].logLines()
                    let seen = Set((gateway + worker).filter { $0["session_id"] as? String == native }.compactMap { $0["event"] as? String })
                    return expectedEvents.allSatisfy(seen.contains)
                }
                let aboutSession = (gateway + worker).filter { $0["session_id"] as? String == native }
                #expect(aboutSession.allSatisfy { $0["request_id"] as? String == "req-e2e-native" }, "\(aboutSession.filter { $0["request_id"] as? String != "req-e2e-native" })")
                let events = Set(aboutSession.compactMap { $0["event"] as? String })
                for event in expectedEvents {
                    #expect(events.contains(event), "no \(event) line for the session: \(events.sorted())")
                }
                #expect(worker.filter { $0["session_id"] as? String == native }.count >= 2, "the worker's lines carry the session id")
                // No line anywhere names a session without its request.
                let orphans = (gateway + worker).filter { $0["session_id"] != nil && ($0["request_id"] as? String ?? "").isEmpty }
                #expect(orphans.isEmpty, "\(orphans.prefix(3))")
            }
        }

        /// With tracing on, a session is one trace: the gateway's connection span, the router's
        /// allocation, the worker's session span (through the traceparent in the worker upgrade's headers) and a
        /// span per utterance; the worker's log lines carry the trace id.
        @Test(.enabled("needs Python's opentelemetry-proto") { await OTLPReceiver.shouldRun() })
        func aSessionIsOneTraceAcrossGatewayRouterAndWorker() async throws {
            let receiver = try await OTLPReceiver.started()
            defer { receiver.stop() }
            let deployment = try await RealtimeProcesses(
                workers: 1, extra: ["OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"])
            try await withTeardown({ await deployment.stop() }) {
                let wav = try await TestSpeech.wav(saying: "hello world, this is a test of the transcription system")
                let audio = Array(try Data(contentsOf: wav).dropFirst(44))  // Festival: 16-bit mono; the header is 44 bytes
                let rate = try RealtimeProcesses.sampleRate(of: wav)
                let outcome = try await RealtimeProcesses.session(deployment.wsURL + "?sample_rate=\(rate)", key: RealtimeProcesses.apiKey) { outbound, begun in
                    guard await begun.value else { return }
                    try await outbound.write(.binary(ByteBuffer(bytes: [UInt8](repeating: 0, count: rate))))
                    try await outbound.write(.binary(ByteBuffer(bytes: audio)))
                    try await outbound.write(.binary(ByteBuffer(bytes: [UInt8](repeating: 0, count: 2 * rate))))
                    try await outbound.write(.text(#"{"type":"end"}"#))
                }
                let sessionID = try #require(outcome.sessionID)
                #expect(outcome.closeCode == 1000)
                let arrived = await eventually(timeout: .seconds(30)) {
                    let spans = receiver.spans()
                    guard let root = spans.first(where: { $0.name == "gateway.realtime_session" && $0.attribute("dalston.session_id") == sessionID }) else { return false }
                    let trace = spans.filter { $0.traceID == root.traceID }
                    return trace.contains { $0.name == "realtime.session" } && trace.contains { $0.name == "realtime.generate_transcript" }
                }
                #expect(arrived, "the session's spans arrived within 30 s")
                let spans = receiver.spans()
                let root = try #require(spans.first { $0.name == "gateway.realtime_session" && $0.attribute("dalston.session_id") == sessionID })
                #expect(root.parentSpanID.isEmpty && root.kind == "SPAN_KIND_SERVER")
                let trace = spans.filter { $0.traceID == root.traceID }
                let byID = Dictionary(trace.map { ($0.spanID, $0) }, uniquingKeysWith: { first, _ in first })
                let allocate = try #require(trace.first { $0.name == "session_router.allocate" })
                #expect(allocate.parentSpanID == root.spanID)
                let session = try #require(trace.first { $0.name == "realtime.session" })
                #expect(session.parentSpanID == root.spanID, "the worker continued the gateway's trace")
                #expect(session.serviceName == "dalston-realtime-worker")
                #expect(session.attribute("dalston.session_id") == sessionID)
                let utterances = trace.filter { $0.name == "realtime.generate_transcript" }
                #expect(!utterances.isEmpty && utterances.allSatisfy { $0.parentSpanID == session.spanID })
                #expect(trace.allSatisfy { $0.parentSpanID.isEmpty || byID[$0.parentSpanID] != nil })
                let workerLines = deployment.workers[0].logLines().filter { $0["session_id"] as? String == sessionID }
                #expect(!workerLines.isEmpty && workerLines.allSatisfy { $0["trace_id"] as? String == root.traceID }, "\(workerLines.prefix(2))")
            }
        }

        @Test func aWorkerKilledMidSessionEndsTheSessionWithAnErrorAndFreesTheSlot() async throws {
            let deployment = try await RealtimeProcesses(workers: 1)
            try await withTeardown({ await deployment.stop() }) {
                let started = ContinuousClock.now
                let outcome = try await RealtimeProcesses.session(deployment.wsURL, key: RealtimeProcesses.apiKey) { outbound, begun in
                    _ = await begun.value
                    try await outbound.write(.binary(ByteBuffer(bytes: [UInt8](repeating: 0, count: 32_000))))
                    deployment.workers[0].kill()
                    try await Task.sleep(for: .seconds(30))  // the server ends the session first
                }
                #expect(ContinuousClock.now - started < .seconds(15), "the client learnt of the loss within a bounded time")
                #expect(outcome.errors.contains("worker_lost"), "\(outcome.frames)")
                #expect(outcome.closeCode == 1011)
                let status = try await deployment.realtimeStatus()
                #expect(status["active_sessions"] as? Int == 0, "the slot was given back: \(status)")
                // The dead worker stops being offered once its heartbeat is stale.
                #expect(await eventually(timeout: .seconds(10)) { (try? await deployment.realtimeStatus()["status"] as? String) == "unavailable" })
                let id = try #require(outcome.sessionID)
                let record = try await deployment.client.request("GET", "v1/realtime/sessions/\(id)", headers: deployment.authorization)
                #expect(record.json["error"] as? String == "worker_lost")
            }
        }

        @Test func twiceAsManySessionsAsCapacityRefusesTheExtraOnesAtOnce() async throws {
            let deployment = try await RealtimeProcesses(workers: 1, capacity: 2)
            try await withTeardown({ await deployment.stop() }) {
                let outcomes = try await withThrowingTaskGroup(of: RealtimeProcesses.Outcome.self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            try await RealtimeProcesses.session(deployment.wsURL, key: RealtimeProcesses.apiKey) { outbound, begun in
                                guard await begun.value else { return }
                                for _ in 0..<10 {
                                    try await outbound.write(.binary(ByteBuffer(bytes: [UInt8](repeating: 0, count: 6400))))
                                    try await Task.sleep(for: .milliseconds(200))
                                }
                                try await outbound.write(.text(#"{"type":"end"}"#))
                            }
                        }
                    }
                    return try await group.reduce(into: [RealtimeProcesses.Outcome]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0.closeCode == 1000 && $0.frames.last?.contains("session.end") == true }.count == 2, "\(outcomes.map(\.frames))")
                let refused = outcomes.filter { $0.closeCode == 4503 }
                #expect(refused.count == 2)
                #expect(refused.allSatisfy { $0.errors == ["no_capacity"] })
            }
        }

        @Test func aGatewayKilledMidSessionHasItsReservationReconciledByAnother() async throws {
            // A short lease, still long enough that the living gateway's renewals (every quarter
            // of it) survive a busy CI machine.
            let deployment = try await RealtimeProcesses(workers: 1, gateways: 2, extra: ["DALSTON_REALTIME_SESSION_LEASE": "4"])
            try await withTeardown({ await deployment.stop() }) {
                let sessionID = Locked<String?>(nil)
                let first = Task {
                    try await RealtimeProcesses.session(deployment.wsURL, key: RealtimeProcesses.apiKey) { outbound, begun in
                        _ = await begun.value
                        try await outbound.write(.binary(ByteBuffer(bytes: [UInt8](repeating: 0, count: 3200))))
                        try await Task.sleep(for: .seconds(60))
                    } onBegin: { sessionID.set($0) }
                }
                #expect(await eventually(timeout: .seconds(10)) { sessionID.get() != nil })
                #expect(try await deployment.realtimeStatus(gateway: 1)["active_sessions"] as? Int == 1, "the other gateway sees the reservation")
                deployment.gateways[0].kill()
                first.cancel()
                let id = try #require(sessionID.get())
                // Wait for the release itself: `active_sessions` also drops to 0 when a stalled
                // machine lets the worker's heartbeat go stale, before any release.
                #expect(await eventually(timeout: .seconds(30)) {
                    deployment.gateways[1].logLines().contains { $0["event"] as? String == "orphaned_session_released" && $0["session_id"] as? String == id }
                })
                #expect(await eventually(timeout: .seconds(20)) { (try? await deployment.realtimeStatus(gateway: 1)["active_sessions"] as? Int) == 0 })
                var fields: [String: Any] = [:]
                _ = await eventually(timeout: .seconds(10)) {
                    fields = (try? await deployment.client(gateway: 1).request("GET", "v1/realtime/sessions/\(id)", headers: deployment.authorization).json) ?? [:]
                    return fields["status"] as? String == "error"
                }
                #expect(fields["status"] as? String == "error")
                #expect(fields["error"] as? String == "gateway_lost")
            }
        }
    }
}

/// Redis, `gateways` gateways and `workers` realtime workers as separate processes.
final class RealtimeProcesses: @unchecked Sendable {
    static let apiKey = "rt-e2e-key"
    static func shouldRun() async -> Bool {
        if TestTools.areRequired { return true }
        guard RedisServerProcess.isInstalled, TestSpeech.isAvailable, await OfficialClients.isInstalled() else { return false }
        return await TestTools.pythonCanImport("websockets")
    }

    let redis: RedisServerProcess
    let directory: URL
    var gateways: [ServiceProcess] = []
    var workers: [ServiceProcess] = []
    let ports: [Int]

    var httpBase: String { "http://127.0.0.1:\(ports[0])" }
    var wsURL: String { "ws://127.0.0.1:\(ports[0])/v1/audio/transcriptions/stream" }
    var client: GatewayClient { client(gateway: 0) }
    var authorization: [String: String] { ["Authorization": "Bearer \(Self.apiKey)"] }

    func client(gateway: Int) -> GatewayClient { GatewayClient(base: URL(string: "http://127.0.0.1:\(ports[gateway])/")!) }

    init(workers workerCount: Int, capacity: Int = 1, gateways gatewayCount: Int = 1, extra: [String: String] = [:]) async throws {
        redis = try await RedisServerProcess()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-rt-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        ports = try (0..<gatewayCount).map { _ in try freeTCPPort() }
        let base = [
            "REDIS_URL": redis.url, "LOG_FORMAT": "json", "LOG_LEVEL": "info", "DALSTON_HOST": "127.0.0.1", "DALSTON_API_KEYS": Self.apiKey,
            "DALSTON_DATA_DIR": directory.appendingPathComponent("data").path, "DALSTON_REALTIME_WORKER_TIMEOUT": "2",
            "DALSTON_REALTIME_MAX_SESSIONS": "\(capacity)", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ].merging(extra) { $1 }
        for (index, port) in ports.enumerated() {
            gateways.append(try ServiceProcess(
                name: "gateway\(index)", arguments: ["gateway"], environment: base.merging(["DALSTON_PORT": "\(port)"]) { $1 }, logDirectory: directory))
        }
        for index in 0..<workerCount {
            workers.append(try ServiceProcess(
                name: "realtime-worker\(index)", arguments: ["realtime-worker"],
                environment: base.merging(["METRICS_PORT": "\(try freeTCPPort())", "DALSTON_WORKER_ID": "rt-worker-\(index)"]) { $1 }, logDirectory: directory))
        }
        let ready = await eventually(timeout: .seconds(30)) {
            for gateway in 0..<gatewayCount {
                guard let status = try? await self.realtimeStatus(gateway: gateway), status["ready_workers"] as? Int == workerCount else { return false }
            }
            return true
        }
        guard ready else {
            await stop()
            throw TestSpeech.Unavailable(description: "the realtime deployment did not start: \(gateways.first?.rawLines().suffix(5) ?? []) \(workers.first?.rawLines().suffix(5) ?? [])")
        }
    }

    /// The rate of a 16-bit mono WAV with a plain 44-byte header (what Festival writes).
    static func sampleRate(of wav: URL) throws -> Int {
        let header = Array(try Data(contentsOf: wav).prefix(44))
        return Int(header[24]) | Int(header[25]) << 8 | Int(header[26]) << 16 | Int(header[27]) << 24
    }

    func realtimeStatus(gateway: Int = 0) async throws -> [String: Any] {
        let reply = try await client(gateway: gateway).request("GET", "v1/realtime/status", headers: authorization)
        return reply.json
    }

    func stop() async {
        for process in gateways + workers { await process.terminateAndWait() }
        redis.kill()
    }

    /// What one client saw.
    struct Outcome: Sendable {
        var frames: [String] = []
        var closeCode: UInt16?
        var sessionID: String?
        var errors: [String] {
            frames.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
                .filter { $0["type"] as? String == "error" }.compactMap { $0["code"] as? String }
        }
    }

    /// A native session: `send` runs once the connection is open (`begun` says whether
    /// `session.begin` arrived, false when refused); returns when the server closes.
    static func session(
        _ url: String, key: String, send: @escaping @Sendable (WebSocketOutboundWriter, Task<Bool, Never>) async throws -> Void,
        onBegin: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> Outcome {
        var configuration = WebSocketClientConfiguration()
        configuration.additionalHeaders[.authorization] = "Bearer \(key)"
        let frames = Locked<[String]>([])
        let begin = Locked<String?>(nil)
        let settled = Locked(false)
        let close = try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "test.rt")) { inbound, outbound, _ in
            let begun = Task<Bool, Never> {
                while !settled.get() { try? await Task.sleep(for: .milliseconds(10)) }
                return begin.get() != nil
            }
            let sender = Task { try await send(outbound, begun) }
            defer { sender.cancel() }
            for try await message in inbound.messages(maxSize: 1 << 22) {
                guard case .text(let text) = message else { continue }
                frames.withLock { $0.append(text) }
                if let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
                    if object["type"] as? String == "session.begin", let id = object["session_id"] as? String {
                        begin.set(id)
                        onBegin(id)
                    }
                    settled.set(true)
                }
            }
            settled.set(true)
        }
        var code: UInt16?
        if let closeCode = close?.closeCode {
            switch closeCode {
            case .normalClosure: code = 1000
            case .unexpectedServerError: code = 1011
            case .unknown(let value): code = value
            default: code = 0
            }
        }
        return Outcome(frames: frames.get(), closeCode: code, sessionID: begin.get())
    }
}
