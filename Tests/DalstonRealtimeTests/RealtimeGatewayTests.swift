import DalstonAudio
import DalstonBroker
import DalstonEngines
import DalstonPipeline
import DalstonRealtime
import DalstonRuntime
import DalstonSessionRouter
import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import Testing

/// The gateway's WebSocket endpoints against a real realtime worker (PocketSphinx), in one
/// process on the embedded broker: a real WebSocket client, real sockets.
@Suite("Realtime gateway", .enabled(if: TranscribeEngine.isAvailable && TestSpeech.shouldRun, "needs PocketSphinx and Festival"), .serialized)
struct RealtimeGatewayTests {
    /// A gateway (and, unless `worker` is false, a realtime worker) on free ports.
    struct Running {
        let deployment: Deployment
        let running: RunningDeployment
        let port: Int
        let broker: InMemoryBroker

        var base: String { "ws://127.0.0.1:\(port)" }

        static func start(_ environment: [String: String] = [:], worker: Bool = true, configure: (inout Deployment) -> Void = { _ in }) async throws -> Running {
            let port = try freeTCPPort()
            let broker = InMemoryBroker()
            var deployment = Deployment(
                environment: ["DALSTON_PORT": "\(port)", "DALSTON_REALTIME_MAX_SESSIONS": "1"].merging(environment) { $1 }, broker: broker,
                artifacts: FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-rt-\(UUID().uuidString)")))
            configure(&deployment)
            let running = try deployment.start([.gateway] + (worker ? [.realtimeWorker] : []))
            let started = await eventually(timeout: .seconds(60)) {
                guard (try? await deployment.sessionRouterStore.workers().count) == (worker ? 1 : 0) else { return false }
                return (try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health")!))?.1 != nil
            }
            guard started else {
                await running.stop()
                throw Failure(description: "the gateway or its realtime worker did not start")
            }
            return Running(deployment: deployment, running: running, port: port, broker: broker)
        }

        /// Starts, runs `body`, and stops whatever `body` did.
        static func with(
            _ environment: [String: String] = [:], worker: Bool = true, configure: (inout Deployment) -> Void = { _ in },
            _ body: (Running) async throws -> Void
        ) async throws {
            let server = try await start(environment, worker: worker, configure: configure)
            try await withTeardown({ await server.running.stop() }) { try await body(server) }
        }

        func record(_ id: String) async throws -> RealtimeSessionRecord? {
            try await RealtimeSessionRecords(state: broker).record(id)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// What a client saw: every text frame as JSON, and how the connection was closed.
    struct Conversation: Sendable {
        var texts: [String] = []
        var close: WebSocketCloseFrame?
        var frames: [[String: Any]] { texts.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] } }

        func types(_ key: String = "type") -> [String] { frames.compactMap { $0[key] as? String } }
        func first(_ type: String, key: String = "type") -> [String: Any]? { frames.first { $0[key] as? String == type } }
        var closeCode: UInt16? {
            guard let code = close?.closeCode else { return nil }
            if case .unknown(let value) = code { return value }
            return switch code {
            case .normalClosure: 1000
            case .messageTooLarge: 1009
            case .unexpectedServerError: 1011
            default: 0
            }
        }
    }

    /// Connects, runs `send` (then keeps reading until the server closes) and returns what came back.
    static func converse(
        _ url: String, headers: HTTPFields = [:], timeout: Duration = .seconds(30),
        send: @escaping @Sendable (WebSocketOutboundWriter) async throws -> Void = { _ in }
    ) async throws -> Conversation {
        var options = WebSocketClientConfiguration()
        options.additionalHeaders = headers
        let configuration = options
        let frames = Locked<[String]>([])
        let close = try await withThrowingTaskGroup(of: WebSocketCloseFrame?.self) { group in
            group.addTask {
                try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "test.client")) { inbound, outbound, _ in
                    async let sending: Void = send(outbound)
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        if case .text(let text) = message { frames.withLock { $0.append(text) } }
                    }
                    try? await sending
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw Failure(description: "the server did not close the session within \(timeout)")
            }
            let result = try await group.next() ?? nil
            group.cancelAll()
            return result
        }
        return Conversation(texts: frames.withLock { $0 }, close: close)
    }

    static func speech() async throws -> [UInt8] {
        let wav = try await TestSpeech.wav(saying: "hello world, this is a test of the transcription system")
        let audio = try WAVDecoder.decode(Array(try Data(contentsOf: wav)))
        let samples = [Float](repeating: 0, count: 8000) + Resampler().resample(audio.downmixed(), from: audio.sampleRate, to: 16_000)
            + [Float](repeating: 0, count: 16_000)
        return WAVEncoder.pcm16LittleEndian(samples)
    }

    static func sendInFrames(_ bytes: [UInt8], _ outbound: WebSocketOutboundWriter, frame: Int = 3200) async throws {
        var offset = 0
        while offset < bytes.count {
            try await outbound.write(.binary(ByteBuffer(bytes: bytes[offset..<min(bytes.count, offset + frame)])))
            offset += frame
        }
    }

    @Test func aNativeSessionGetsPartialsAFinalAndIsRecorded() async throws {
        try await Running.with() { server in
            let audio = try await Self.speech()
            let conversation = try await Self.converse(
                "\(server.base)/v1/audio/transcriptions/stream?language=en&word_timestamps=true", headers: [HTTPField.Name("X-Request-ID")!: "req-native-1"]
            ) { outbound in
                try await Self.sendInFrames(audio, outbound)
                try await outbound.write(.text(#"{"type":"end"}"#))
            }
            let types = conversation.types()
            #expect(types.first == "session.begin")
            #expect(types.contains("vad.speech_start"))
            #expect(types.contains("transcript.partial"))
            #expect(types.last == "session.end")
            #expect(conversation.closeCode == 1000)
            let finals = conversation.frames.filter { $0["type"] as? String == "transcript.final" }.compactMap { $0["text"] as? String }.joined(separator: " ")
            for word in ["hello", "world", "test", "system"] { #expect(finals.contains(word), "\(finals)") }
            let sessionID = try #require(conversation.first("session.begin")?["session_id"] as? String)
            #expect(sessionID.hasPrefix("sess_") && sessionID.count == 21)
            let record = try #require(try await server.record(sessionID))
            #expect(record.status == "completed")
            #expect(record.requestID == "req-native-1")
            #expect(record.transcript == finals)
            #expect(abs(record.audioDurationSeconds - Double(audio.count) / 32_000) < 0.01)
            #expect(await eventually(timeout: .seconds(5)) { (try? await server.deployment.sessionRouterStore.workers().first?.reserved) == 0 }, "the slot is free again")
        }
    }

    /// A worker that is registered but cannot be reached (it died after its last heartbeat) is
    /// tried first, being the least loaded: the session moves on to the live one, the dead one
    /// is marked offline, and no record is left behind for the attempt.
    @Test func anUnreachableWorkerIsSkippedAndMarkedOffline() async throws {
        try await Running.with() { server in
            let ghost = RealtimeWorkerInfo(workerID: "ghost", endpoint: "ws://127.0.0.1:\(try freeTCPPort())", capacity: 10)
            try await server.deployment.sessionRouterStore.announce(ghost)
            let conversation = try await Self.converse("\(server.base)/v1/audio/transcriptions/stream") { try await $0.write(.text(#"{"type":"end"}"#)) }
            #expect(conversation.types().last == "session.end")
            #expect(conversation.closeCode == 1000)
            let workers = try await server.deployment.sessionRouterStore.workers()
            #expect(workers.first { $0.workerID == "ghost" }?.status == "offline")
            let records = try await RealtimeSessionRecords(state: server.broker).list(limit: 10)
            #expect(records.count == 1 && records.first?.status == "completed", "\(records.map { ($0.id, $0.status) })")
        }
        // When the unreachable one is the only worker: 4503, and no session recorded as active.
        try await Running.with(worker: false) { server in
            try await server.deployment.sessionRouterStore.announce(
                RealtimeWorkerInfo(workerID: "ghost", endpoint: "ws://127.0.0.1:\(try freeTCPPort())", capacity: 10))
            let refused = try await Self.converse("\(server.base)/v1/audio/transcriptions/stream")
            #expect(refused.first("error")?["code"] as? String == "no_capacity")
            #expect(refused.closeCode == 4503)
            #expect(try await RealtimeSessionRecords(state: server.broker).list(limit: 10).isEmpty)
        }
    }

    @Test func badParametersAreAnErrorThen4400() async throws {
        try await Running.with() { server in
            let conversation = try await Self.converse("\(server.base)/v1/audio/transcriptions/stream?sample_rate=1000")
            #expect(conversation.first("error")?["code"] as? String == "invalid_parameters")
            #expect((conversation.first("error")?["message"] as? String)?.contains("sample_rate") == true)
            #expect(conversation.closeCode == 4400)
            let german = try await Self.converse("\(server.base)/v1/audio/transcriptions/stream?language=de")
        #expect(german.first("error")?["code"] as? String == "language_not_supported")
        #expect(german.closeCode == 4400)
        let elevenLabs = try await Self.converse("\(server.base)/v1/speech-to-text/realtime?audio_format=mp3_22050")
            #expect(elevenLabs.first("input_error", key: "message_type") != nil)
            #expect(elevenLabs.closeCode == 4400)
        }
    }

    @Test func withoutAWorkerTheClientGetsNoCapacityThen4503() async throws {
        try await Running.with(worker: false) { server in
            let conversation = try await Self.converse("\(server.base)/v1/audio/transcriptions/stream")
            #expect(conversation.first("error")?["code"] as? String == "no_capacity")
            #expect(conversation.closeCode == 4503)
        }
    }

    /// While one session holds the only slot (and the key's only session), a second client
    /// connects: `check` gets what it saw and how long it took. The first session ends normally.
    static func secondSessionWhileOneIsOpen(_ server: Running, query: String = "", check: (Conversation, Duration) throws -> Void) async throws {
        let url = "\(server.base)/v1/audio/transcriptions/stream" + query
        let opened = Locked(false)
        async let first = Self.converse(url) { outbound in
            opened.withLock { $0 = true }
            try await Task.sleep(for: .seconds(2))
            try await outbound.write(.text(#"{"type":"end"}"#))
        }
        #expect(await eventually(timeout: .seconds(10)) { opened.withLock { $0 } })
        let started = ContinuousClock.now
        let second = try await Self.converse(url)
        try check(second, ContinuousClock.now - started)
        #expect(try await first.closeCode == 1000)
    }

    @Test func aSessionBeyondTheKeysLimitGets4429() async throws {
        try await Running.with(["DALSTON_API_KEYS": "limited-key"], configure: { $0.sessionRouterOptions.sessionsPerKey = 1 }) { server in
            try await Self.secondSessionWhileOneIsOpen(server, query: "?api_key=limited-key") { limited, _ in
                #expect(limited.first("error")?["code"] as? String == "rate_limit_exceeded")
                #expect(limited.closeCode == 4429)
            }
        }
    }

    @Test func overCapacityGets4503() async throws {
        try await Running.with() { server in
            try await Self.secondSessionWhileOneIsOpen(server) { refused, waited in
                #expect(refused.first("error")?["code"] as? String == "no_capacity")
                #expect(refused.closeCode == 4503)
                #expect(waited < .seconds(2), "refused at once, not after waiting")
            }
        }
    }

    @Test func anIdleClientGetsSessionTimeoutAndTheSessionIsRecordedAsTimedOut() async throws {
        try await Running.with(["DALSTON_REALTIME_IDLE_TIMEOUT": "1"]) { server in
            let conversation = try await Self.converse("\(server.base)/v1/audio/transcriptions/stream")
            #expect(conversation.first("error")?["code"] as? String == "session_timeout")
            #expect(conversation.types().last == "session.end")
            #expect(conversation.closeCode == 1000)
            let id = try #require(conversation.first("session.begin")?["session_id"] as? String)
            #expect(try await server.record(id)?.status == "timeout")
        }
    }

    /// A recogniser that takes `slowdown` times as long as the audio it is fed.
    final class SlowRecognizer: StreamingRecognizer, @unchecked Sendable {
        let slowdown: Double
        init(slowdown: Double) { self.slowdown = slowdown }
        func startUtterance() throws {}
        func process(_ samples: [Int16]) throws { Thread.sleep(forTimeInterval: Double(samples.count) / 16_000 * slowdown) }
        func partialHypothesis() -> String? { nil }
        func endUtterance() throws -> [RecognizedWord] { [] }
    }

    /// A session whose decoding falls behind its audio is told (recoverable) and goes on.
    @Test func aSessionThatFallsBehindRealTimeIsToldAndGoesOn() async throws {
        try await Running.with(["DALSTON_REALTIME_MAX_LAG": "0.3"], configure: { $0.makeStreamingRecognizer = { _ in SlowRecognizer(slowdown: 2) } }) { server in
            let conversation = try await Self.converse("\(server.base)/v1/audio/transcriptions/stream") { outbound in
                // 1.2 s of a tone in 0.1 s frames, each decoded in 0.2 s: 0.1 s more behind per frame.
                let tone = (0..<19_200).flatMap { index -> [UInt8] in
                    let sample = Int16(sin(Double(index) / 8) * 8000)
                    return [UInt8(truncatingIfNeeded: sample), UInt8(truncatingIfNeeded: sample >> 8)]
                }
                for start in stride(from: 0, to: tone.count, by: 3200) {
                    try await outbound.write(.binary(ByteBuffer(bytes: tone[start..<min(tone.count, start + 3200)])))
                }
                try await outbound.write(.text(#"{"type":"end"}"#))
            }
            let behind = conversation.frames.filter { $0["code"] as? String == "falling_behind" }
            #expect(behind.count == 1, "reported once: \(conversation.types())")
            #expect(behind.first?["recoverable"] as? Bool == true)
            #expect(conversation.types().last == "session.end", "the session goes on to its end")
        }
    }

    /// `/ready` with a realtime worker expected: not ready until one can take a session, then its capacity.
    @Test func readinessWaitsForARealtimeWorkerThatCanTakeASession() async throws {
        try await Running.with(["DALSTON_READY_REQUIRES_REALTIME": "true"], worker: false) { server in
            func ready() async throws -> (status: Int, body: [String: Any]) {
                let (data, response) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(server.port)/ready")))
                return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
            }
            let waiting = try await ready()
            #expect(waiting.status == 503)
            #expect((waiting.body["realtime"] as? [String: Any])?["status"] as? String == "unavailable", "\(waiting.body)")
            try await server.deployment.sessionRouterStore.announce(RealtimeWorkerInfo(
                workerID: "rt-ready", endpoint: "ws://127.0.0.1:1", capacity: 3, status: "ready", lastHeartbeat: Date()))
            let serving = try await ready()
            #expect(serving.status == 200)
            let realtime = serving.body["realtime"] as? [String: Any]
            #expect(realtime?["status"] as? String == "ready" && realtime?["available_sessions"] as? Int == 3 && realtime?["capacity"] as? Int == 3, "\(serving.body)")
        }
    }

    @Test func badFramesGetRecoverableErrorsAndAnOversizedOneEndsTheSession() async throws {
        try await Running.with(["DALSTON_REALTIME_MAX_FRAME_BYTES": "4096"]) { server in
            let url = "\(server.base)/v1/audio/transcriptions/stream"
            let recovered = try await Self.converse(url) { outbound in
                try await outbound.write(.text("this is not JSON"))
                try await outbound.write(.text(#"{"type":"sing"}"#))
                try await outbound.write(.binary(ByteBuffer(bytes: [0x01])))  // half a sample: kept for the next frame
                try await outbound.write(.text(#"{"type":"end"}"#))
            }
            let errors = recovered.frames.filter { $0["type"] as? String == "error" }
            #expect(errors.count == 2)
            #expect(errors.allSatisfy { $0["code"] as? String == "invalid_message" && $0["recoverable"] as? Bool == true })
            #expect(recovered.types().last == "session.end")
            let oversized = try await Self.converse(url) { outbound in
                try await outbound.write(.binary(ByteBuffer(bytes: [UInt8](repeating: 0, count: 6000))))
            }
            #expect(oversized.first("error")?["code"] as? String == "frame_too_large")
            #expect(oversized.closeCode == 1009)
            // Far past the limit (10 MB, where the WebSocket layer used to close with 1009 before
            // the relay read the frame): the same error, and the record says why. (The worker
            // takes one session: the last one's slot is given back first.)
            #expect(await eventually(timeout: .seconds(15)) { (try? await server.deployment.sessionRouterStore.workers().first?.reserved) == 0 })
            let huge = try await Self.converse(url) { outbound in
                try await Task.sleep(for: .seconds(1))  // session.begin first, to know the session
                try await outbound.write(.binary(ByteBuffer(bytes: [UInt8](repeating: 0, count: 10_000_000))))
            }
            #expect(huge.first("error")?["code"] as? String == "frame_too_large")
            #expect(huge.closeCode == 1009)
            let id = try #require(huge.first("session.begin")?["session_id"] as? String)
            #expect(await eventually(timeout: .seconds(15)) { (try? await server.record(id))?.error == "frame_too_large" })
        }
    }

    @Test func aClientThatLeavesWithoutEndHasItsSessionFinishedAndRecorded() async throws {
        try await Running.with() { server in
            let audio = try await Self.speech()
            let sessionID = Locked<String?>(nil)
            _ = try await WebSocketClient.connect(url: "\(server.base)/v1/audio/transcriptions/stream", logger: Logger(label: "test")) { inbound, outbound, _ in
                var iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                if case .text(let text)? = try await iterator.next() {
                    sessionID.withLock { $0 = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["session_id"] as? String }
                }
                try await Self.sendInFrames(audio, outbound)
                try await outbound.close(.normalClosure, reason: "gone")
            }
            let id = try #require(sessionID.withLock { $0 })
            #expect(await eventually(timeout: .seconds(15)) { (try? await server.record(id))?.status == "interrupted" })
            let record = try #require(try await server.record(id))
            #expect(record.transcript.contains("hello"), "what the worker heard is kept: \(record.transcript)")
            #expect(await eventually(timeout: .seconds(5)) { (try? await server.deployment.sessionRouterStore.workers().first?.reserved) == 0 })
        }
    }

    @Test func apiKeysAreCheckedBeforeTheUpgrade() async throws {
        try await Running.with(["DALSTON_API_KEYS": "rt-key"]) { server in
            let url = "\(server.base)/v1/audio/transcriptions/stream"
            await #expect(throws: (any Error).self) { try await Self.converse(url) }
            await #expect(throws: (any Error).self) { try await Self.converse(url + "?api_key=wrong") }
            let byQuery = try await Self.converse(url + "?api_key=rt-key") { try await $0.write(.text(#"{"type":"end"}"#)) }
            #expect(byQuery.types().last == "session.end")
            let byHeader = try await Self.converse(url, headers: [.authorization: "Bearer rt-key"]) { try await $0.write(.text(#"{"type":"end"}"#)) }
            #expect(byHeader.closeCode == 1000)
        }
    }
}
