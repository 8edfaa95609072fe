import DalstonAudio
import DalstonBroker
import DalstonGateway
import DalstonMetrics
import DalstonPipeline
import DalstonRecords
import DalstonTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing

/// The gateway's HTTP behaviour through Hummingbird's test client, on the in-memory broker (no
/// engines run: these tests look at the API, not the pipeline).
struct GatewayFixture {
    let gateway: Gateway
    let broker: InMemoryBroker
    let artifactsRoot: URL

    init(
        metrics: MetricsRuntime = .disabled, artifactsRoot: URL? = nil, records: RecordStore? = nil,
        configure: (inout GatewayConfiguration) -> Void = { _ in }
    ) {
        var configuration = GatewayConfiguration()
        configuration.port = (try? freeTCPPort()) ?? 0
        configure(&configuration)
        broker = InMemoryBroker()
        self.artifactsRoot = artifactsRoot ?? FileManager.default.temporaryDirectory.appendingPathComponent("dalston-gw-\(UUID().uuidString)")
        let artifacts = FileArtifactStore(root: self.artifactsRoot)
        gateway = Gateway(
            configuration: configuration, jobs: JobService(state: broker, events: broker, artifacts: artifacts, history: records?.jobs),
            queues: broker, workers: broker, brokerKind: "in-memory", metrics: metrics, records: records)
    }

    /// Through the router, without sockets (`live`: over real HTTP on a loopback port).
    func test(live: Bool = false, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: gateway.makeRouter())
        try await app.test(live ? .live : .router, body)
    }

    /// The real server (connection handlers, timeouts, limits) on a free port, run as in
    /// production (HummingbirdTesting's live mode drops the connection cap).
    func live(_ body: @Sendable (_ port: Int) async throws -> Void) async throws {
        let port = gateway.configuration.port
        let services = ServiceGroup(configuration: .init(services: [gateway.makeApplication()], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            _ = await eventually(timeout: .seconds(20)) { (try? RawConnection(port: port)) != nil }
            do {
                try await body(port)
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// Every file under the data directory, temporary ones included.
    var storedFiles: [String] {
        let enumerator = FileManager.default.enumerator(at: artifactsRoot, includingPropertiesForKeys: [.isRegularFileKey])
        return (enumerator?.allObjects as? [URL] ?? []).filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }.map(\.lastPathComponent)
    }
}

let wav = WAVEncoder.encode16BitMono((0..<1600).map { sin(Float($0) / 4) * 0.2 }, sampleRate: 16_000)

func multipart(_ fields: [(String, String)], file: [UInt8]?, boundary: String = "XyZ") -> ByteBuffer {
    var body = ""
    for (name, value) in fields { body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n" }
    var buffer = ByteBuffer(string: body)
    if let file {
        buffer.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n")
        buffer.writeBytes(file)
        buffer.writeString("\r\n")
    }
    buffer.writeString("--\(boundary)--\r\n")
    return buffer
}

func headers(_ pairs: [(String, String)] = [], boundary: String = "XyZ") -> HTTPFields {
    var fields = HTTPFields()
    fields[.contentType] = "multipart/form-data; boundary=\(boundary)"
    for (name, value) in pairs { fields[HTTPField.Name(name)!] = value }
    return fields
}

func json(_ buffer: ByteBuffer) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
}

@Suite("Gateway HTTP API")
struct GatewayTests {
    @Test func requestIDsAreAcceptedWhenSaneGeneratedOtherwiseAndAlwaysEchoed() async throws {
        try await GatewayFixture().test { client in
            try await client.execute(uri: "/health", method: .get, headers: [HTTPField.Name("X-Request-ID")!: "trace.42:abc-DEF_9"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("X-Request-ID")!] == "trace.42:abc-DEF_9")
            }
            for bad in ["has space", String(repeating: "a", count: 129), "semi;colon", "new\u{2028}line"] {
                try await client.execute(uri: "/health", method: .get, headers: [HTTPField.Name("X-Request-ID")!: bad]) { response in
                    let echoed = response.headers[HTTPField.Name("X-Request-ID")!] ?? ""
                    #expect(echoed != bad && echoed.hasPrefix("req_") && echoed.count == 36, "\(bad) → \(echoed)")
                }
            }
            try await client.execute(uri: "/v1/audio/transcriptions/job_missing", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[HTTPField.Name("X-Request-ID")!]?.hasPrefix("req_") == true, "errors carry the id too")
                #expect((json(response.body)["error"] as? [String: String]) == ["code": "not_found", "message": "no transcription job job_missing"])
            }
        }
    }

    @Test func aJobIsCreatedWithItsRequestIDAndAnnounced() async throws {
        let fixture = GatewayFixture()
        let events = fixture.broker.events()
        #expect(await events.waitUntilReady(timeout: .seconds(30)))
        try await fixture.test { client in
            let body = multipart([("language", "en"), ("timestamps_granularity", "word")], file: wav)
            let id = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers([("X-Request-ID", "req_gateway_test")]), body: body) { response in
                #expect(response.status == .created)
                let object = json(response.body)
                #expect(object["status"] as? String == "pending")
                #expect((object["created_at"] as? String)?.hasSuffix("Z") == true)
                #expect(response.headers[.location] == "/v1/audio/transcriptions/\(object["id"] as? String ?? "")")
                return object["id"] as? String ?? ""
            }
            #expect(UUID(uuidString: id) != nil && id == id.lowercased(), "job ids are lowercase UUIDs")
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)", method: .get) { response in
                let object = json(response.body)
                #expect(object["status"] as? String == "pending" && object["request_id"] as? String == "req_gateway_test")
                #expect(object["progress"] as? Int == 0)
            }
            try await client.execute(uri: "/v1/audio/transcriptions?limit=5", method: .get) { response in
                #expect((json(response.body)["jobs"] as? [[String: Any]])?.first?["id"] as? String == id)
            }
            try await client.execute(uri: "/v1/audio/transcriptions?limit=0", method: .get) { response in
                #expect(response.status == .badRequest)
            }
            var iterator = events.makeAsyncIterator()
            let event = await iterator.next()
            #expect(event?.type == PipelineEvent.jobCreated && event?.jobID == id)
            #expect(event?.metadata["request_id"] == "req_gateway_test")
            #expect(try await fixture.broker.record(.job(id))[JobField.requestID] == "req_gateway_test")
        }
    }

    @Test("bad uploads get clear 4xx errors and leave nothing behind", arguments: [
        ("no file", multipart([("language", "en")], file: nil), 400, "invalid_request"),
        ("not audio", multipart([], file: Array("hello, not a wav".utf8)), 400, "unsupported_audio"),
        ("bad language", multipart([("language", "xx-klingon")], file: wav), 400, "invalid_request"),
        ("bad granularity", multipart([("timestamps_granularity", "syllable")], file: wav), 400, "invalid_request"),
        ("broken multipart", ByteBuffer(string: "--XyZ\r\nno headers end"), 400, "invalid_request"),
    ])
    func badUploads(label: String, body: ByteBuffer, status: Int, type: String) async throws {
        let fixture = GatewayFixture()
        try await fixture.test { client in
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: body) { response in
                #expect(Int(response.status.code) == status, "\(label)")
                #expect((json(response.body)["error"] as? [String: String])?["code"] == type, "\(label): \(String(buffer: response.body))")
            }
        }
        #expect(try await fixture.broker.indexMembers(PipelineIndex.jobs, limit: 10).isEmpty, "no partial job for \(label)")
        #expect(fixture.storedFiles.isEmpty, "no file left for \(label)")
    }

    @Test func uploadsOverTheLimitGet413() async throws {
        try await GatewayFixture { $0.maximumUploadBytes = 4096 }.test { client in
            let large = WAVEncoder.encode16BitMono([Float](repeating: 0.1, count: 20_000), sampleRate: 16_000)
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([], file: large)) { response in
                #expect(response.status == .contentTooLarge)
                #expect((json(response.body)["error"] as? [String: String])?["code"] == "payload_too_large")
            }
        }
    }

    @Test func withAPIKeysEveryRouteButHealthNeedsOne() async throws {
        try await GatewayFixture {
            $0.securityMode = .apiKey
            $0.apiKeys = ["k1", "k2"]
        }.test { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/status", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect((json(response.body)["error"] as? [String: String])?["code"] == "unauthorized")
            }
            try await client.execute(uri: "/v1/status", method: .get, headers: [.authorization: "Bearer nope"]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/status", method: .get, headers: [.authorization: "Bearer k2"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/status", method: .get, headers: [HTTPField.Name("xi-api-key")!: "k1"]) { #expect($0.status == .ok) }
        }
    }

    @Test func statusShowsQueuesAndWorkers() async throws {
        let fixture = GatewayFixture()
        try await fixture.broker.heartbeat(WorkerHeartbeat(workerID: "w1", engineID: "transcribe", status: "running"))
        try await fixture.broker.enqueue(TaskEnvelope(taskID: "t", jobID: "j", engineID: "merge", stage: "merge"))
        try await fixture.test { client in
            try await client.execute(uri: "/v1/status", method: .get) { response in
                let object = json(response.body)
                #expect(object["broker"] as? String == "in-memory")
                #expect(((object["queues"] as? [String: Any])?["merge"] as? [String: Any])?["waiting"] as? Int == 1)
                #expect((object["workers_alive"] as? [String: Int])?["transcribe"] == 1)
                #expect((object["workers_alive"] as? [String: Int])?["merge"] == 0)
            }
        }
    }

    @Test func cancellingDeletingAndTheElevenLabsTranscriptOfAnUnfinishedJob() async throws {
        let fixture = GatewayFixture()
        try await fixture.test { client in
            let id = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([], file: wav)) {
                json($0.body)["id"] as? String ?? ""
            }
            try await client.execute(uri: "/v1/speech-to-text/transcripts/\(id)", method: .get) { response in
                #expect(response.status == .notFound, "as ElevenLabs: not there yet")
                #expect(response.headers[.retryAfter] == "2")
                #expect((json(response.body)["detail"] as? [String: String])?["status"] == "not_ready", "ElevenLabs' error shape")
            }
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)", method: .delete) { response in
                #expect(response.status == .conflict, "a job still going is not deleted")
                #expect((json(response.body)["error"] as? [String: String])?["code"] == "job_not_finished")
            }
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)/cancel", method: .post) { response in
                #expect(response.status == .ok)
                #expect(json(response.body)["cancel_requested"] as? Bool == true && json(response.body)["status"] as? String == "cancelling")
            }
            try await client.execute(uri: "/v1/audio/transcriptions/\(UUID())/cancel", method: .post) { #expect($0.status == .notFound) }
            // No orchestrator runs here: finish the job as one would, then delete it.
            try await fixture.broker.saveRecord(.job(id), fields: [JobField.status: "cancelled"])
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)/cancel", method: .post) { response in
                #expect(response.status == .ok && json(response.body)["status"] as? String == "cancelled", "cancelling again says so")
            }
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)", method: .delete) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)", method: .get) { #expect($0.status == .notFound) }
            #expect(fixture.storedFiles.isEmpty, "the deleted job's files are gone: \(fixture.storedFiles)")
            let acknowledged = multipart([("webhook", "true")], file: wav)
            try await client.execute(uri: "/v1/speech-to-text", method: .post, headers: headers(), body: acknowledged) { response in
                #expect(response.status == .ok)
                let object = json(response.body)
                #expect(object["transcription_id"] as? String != nil && object["request_id"] as? String != nil, "\(object)")
            }
        }
    }

    @Test func configurationFromTheEnvironment() throws {
        let keyed = try GatewayConfiguration.fromEnvironment(["DALSTON_API_KEYS": "a, b", "DALSTON_PORT": "9000", "DALSTON_MAX_UPLOAD_MB": "5"])
        #expect(keyed.securityMode == .apiKey && keyed.apiKeys == ["a", "b"] && keyed.port == 9000 && keyed.maximumUploadBytes == 5 * 1024 * 1024)
        #expect(try GatewayConfiguration.fromEnvironment([:]).securityMode == .none)
        #expect(try GatewayConfiguration.fromEnvironment(["DALSTON_API_KEYS": "a", "DALSTON_SECURITY_MODE": "none"]).securityMode == .none)
        // api_key alone: the keys are those of the record database (`dalston keys create`).
        let databaseKeys = try GatewayConfiguration.fromEnvironment(["DALSTON_SECURITY_MODE": "api_key"])
        #expect(databaseKeys.securityMode == .apiKey && databaseKeys.apiKeys.isEmpty)
        #expect(throws: GatewayConfiguration.Invalid.self) { try GatewayConfiguration.fromEnvironment(["DALSTON_PORT": "http"]) }
        #expect(throws: GatewayConfiguration.Invalid.self) { try GatewayConfiguration.fromEnvironment(["DALSTON_SECURITY_MODE": "oauth"]) }
        // Separators without a key must not quietly turn authentication off.
        for blank in [" , ", ",", "  ,,  "] {
            #expect(throws: GatewayConfiguration.Invalid.self, "\(blank)") { try GatewayConfiguration.fromEnvironment(["DALSTON_API_KEYS": blank]) }
        }
    }

    @Test func aBrokerThatCannotBeReachedGives503WithRetryAfterAndReadinessSaysSo() async throws {
        let fixture = GatewayFixture()
        try await fixture.test { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(json(response.body)["status"] as? String == "ready")
            }
            await fixture.broker.shutdown()
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([], file: wav)) { response in
                #expect(response.status == .serviceUnavailable, "\(String(buffer: response.body))")
                #expect(response.headers[.retryAfter] == "5")
                #expect((json(response.body)["error"] as? [String: Any])?["code"] as? String == "service_unavailable")
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(json(response.body)["status"] as? String == "not_ready")
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok, "liveness does not depend on the broker")
            }
        }
    }

    @Test func anUploadWithAnAbsurdFileExtensionIsStoredUnderASafeName() async throws {
        let fixture = GatewayFixture()
        try await fixture.test { client in
            let boundary = "XyZ"
            var body = ByteBuffer(string: "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.\(String(repeating: "x", count: 250))\"\r\nContent-Type: audio/wav\r\n\r\n")
            body.writeBytes(wav)
            body.writeString("\r\n--\(boundary)--\r\n")
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: body) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
        }
    }

    @Test func theClientSideBuilderProducesWhatTheGatewayAccepts() async throws {
        var form = MultipartFormBody()
        form.addField("language", "en")
        form.addFile("file", filename: "speech.wav", contents: wav)
        let body = form.encoded
        let contentType = form.contentType
        try await GatewayFixture().test { client in
            var fields = HTTPFields()
            fields[.contentType] = contentType
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: fields, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
        }
    }
}
