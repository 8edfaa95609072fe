import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HummingbirdWSClient
import Testing

/// Several machines without a shared disk, simulated on one: gateway, orchestrator, each engine
/// and the realtime worker as separate processes, each with a data directory of its own, meeting
/// only on Redis, PostgreSQL and an S3 server (SeaweedFS). Whatever one process stored, another
/// read from the bucket.
extension EndToEnd {
    @Suite("End to end: object storage, no shared files",
           .enabled(if: RedisServerProcess.shouldRun && TestSpeech.shouldRun && SeaweedFSProcess.shouldRun && PostgresServerProcess.shouldRun,
                    "needs redis-server, PostgreSQL, SeaweedFS, festival and PocketSphinx (installed by .ci/run)"),
           .serialized)
    struct ObjectStorageTests {
        /// The deployment: `extra` added to every process's environment.
        static func deployment(_ store: SeaweedFSProcess, database: String, prefix: String, extra: [String: String] = [:]) async throws -> Deployment {
            try await Deployment(
                extraEnvironment: store.environment(prefix: prefix).merging([
                    "DATABASE_URL": database, "DALSTON_ALLOWED_PRIVATE_ADDRESSES": "127.0.0.1", "DALSTON_AUDIO_URL_S3_BUCKETS": store.bucket,
                    "DALSTON_REALTIME_MAX_SESSIONS": "1",
                ]) { $1 }.merging(extra) { $1 },
                realtime: true, separateDataDirectories: true)
        }

        /// Every process's data directory: the downloaded copies it may keep, never another's files.
        static func filesOnDisk(_ deployment: Deployment) -> [String] {
            let root = deployment.logDirectory
            let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
            var files: [String] = []
            while let url = enumerator?.nextObject() as? URL {
                let path = url.path.replacingOccurrences(of: root.path + "/", with: "")
                if path.hasPrefix("machine-"), path.contains("/jobs/") || path.contains("/sessions/"), !path.contains("/cache/") { files.append(path) }
            }
            return files
        }

        @Test func jobsInEveryDialectASessionDeletionAndDownloadsWorkWithoutASharedDisk() async throws {
            let store = try await SeaweedFSProcess()
            let postgres = try await PostgresServerProcess()
            let database = try await postgres.createDatabase()
            let prefix = "e2e-\(UUID().uuidString.prefix(6).lowercased())"
            let deployment = try await Self.deployment(
                store, database: database, prefix: prefix, extra: ["DALSTON_KEEP_AUDIO": "true", "DALSTON_PRESIGNED_DOWNLOADS": "true"])
            try await withTeardown({
                deployment.stop()
                await postgres.stop()
            }) {
                let speech = try await TestSpeech.wav(saying: "hello world, this is a test of the transcription system")
                let audio = try Data(contentsOf: speech)

                // Native upload: stored by the gateway, read by the engines from the bucket.
                let created = try await deployment.client.upload(audio, requestID: "req_s3_native", fields: ["language": "en"])
                #expect(created.status == 201, "\(created.text)")
                let id = try #require(created.json["id"] as? String)
                let job = try await deployment.client.waitForJob(id)
                #expect(job["status"] as? String == "completed", "\(job)")
                #expect((job["text"] as? String ?? "").contains("hello world"))
                let keys = try await store.keys(prefix: "\(prefix)/jobs/\(id)/")
                #expect(keys.contains("\(prefix)/jobs/\(id)/result.json") && keys.contains("\(prefix)/jobs/\(id)/audio.wav"), "\(keys)")

                // The original audio: a redirect to a presigned URL of the store, which serves it
                // without credentials.
                let connection = try RawConnection(port: deployment.gatewayPort)
                _ = connection.send("GET /v1/audio/transcriptions/\(id)/audio HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                let redirect = await connection.receive(timeout: .seconds(20)).text
                #expect(redirect.hasPrefix("HTTP/1.1 307"), "\(redirect.prefix(300))")
                #expect(redirect.contains("\(store.endpoint)/\(store.bucket)/\(prefix)/jobs/\(id)/audio.wav?") && redirect.contains("X-Amz-Signature="), "\(redirect.prefix(600))")
                let downloaded = try await deployment.client.request("GET", "v1/audio/transcriptions/\(id)/audio")
                #expect(downloaded.status == 200 && downloaded.body == audio, "the redirect leads to the very bytes uploaded")

                // OpenAI's and ElevenLabs' synchronous routes.
                let openAI = try await deployment.client.upload(audio, fields: ["model": "whisper-1", "response_format": "json"])
                #expect(openAI.status == 200 && (openAI.json["text"] as? String ?? "").contains("hello"), "\(openAI.text)")
                let elevenLabs = try await Self.elevenLabs(deployment, fields: ["model_id": "scribe_v1"], audio: audio)
                #expect(elevenLabs.status == 200 && (elevenLabs.json["text"] as? String ?? "").contains("hello"), "\(elevenLabs.text)")

                // Audio by URL: over HTTP from a server the operator allowed, and from the bucket.
                let files = try await ScratchFileServer(serving: speech)
                defer { files.stop() }
                let byURL = try await deployment.client.request(
                    "POST", "v1/audio/transcriptions", headers: Self.formHeaders, body: Self.form(["audio_url": files.url(named: "speech.wav")]))
                #expect(byURL.status == 201, "\(byURL.text)")
                let urlJob = try await deployment.client.waitForJob(try #require(byURL.json["id"] as? String))
                #expect((urlJob["text"] as? String ?? "").contains("hello world"), "\(urlJob)")
                try await store.put(speech, as: "sources/meeting.wav")
                let fromBucket = try await Self.elevenLabs(deployment, fields: ["model_id": "scribe_v1", "cloud_storage_url": "s3://\(store.bucket)/sources/meeting.wav"], audio: nil)
                #expect(fromBucket.status == 200 && (fromBucket.json["text"] as? String ?? "").contains("hello"), "\(fromBucket.text)")
                let ownStore = try await deployment.client.request(
                    "POST", "v1/audio/transcriptions", headers: Self.formHeaders, body: Self.form(["audio_url": "s3://\(store.bucket)/\(prefix)/jobs/\(id)/result.json"]))
                #expect(ownStore.status == 400 && ownStore.text.contains("url_not_allowed"), "another job's files are not a source: \(ownStore.text)")

                // A realtime session that keeps its audio and transcript: stored by the worker,
                // served by the gateway (which never saw the audio's bytes).
                let session = try await RealtimeProcesses.session(
                    "ws://127.0.0.1:\(deployment.gatewayPort)/v1/audio/transcriptions/stream?store_audio=true&store_transcript=true&sample_rate=\(try RealtimeProcesses.sampleRate(of: speech))",
                    key: "none"
                ) { outbound, begun in
                    guard await begun.value else { return }
                    let samples = audio.dropFirst(44)
                    for start in stride(from: samples.startIndex, to: samples.endIndex, by: 8000) {
                        try await outbound.write(.binary(.init(bytes: samples[start..<min(start + 8000, samples.endIndex)])))
                    }
                    try await outbound.write(.text(#"{"type":"end"}"#))
                }
                let sessionID = try #require(session.sessionID, "\(session.frames.prefix(3))")
                let storedAudio = try await deployment.client.request("GET", "v1/realtime/sessions/\(sessionID)/audio")
                #expect(storedAudio.status == 200)
                let wav = storedAudio.body
                #expect(wav.count > 44 && wav.prefix(4) == Data("RIFF".utf8), "the session's WAV, from the store (after its presigned redirect)")
                let storedTranscript = try await deployment.client.request("GET", "v1/realtime/sessions/\(sessionID)/transcript")
                #expect(storedTranscript.status == 200 && storedTranscript.text.contains("hello"), "\(storedTranscript.text)")
                let deleted = try await deployment.client.request("DELETE", "v1/realtime/sessions/\(sessionID)")
                #expect(deleted.status == 200)
                #expect(try await store.keys(prefix: "\(prefix)/sessions/\(sessionID)/").isEmpty, "the session's objects went with it")

                // Deleting a job deletes its objects.
                #expect(try await deployment.client.request("DELETE", "v1/audio/transcriptions/\(id)").status == 204)
                #expect(try await store.keys(prefix: "\(prefix)/jobs/\(id)/").isEmpty)

                // No process kept a job's or a session's file outside its cache of downloads.
                #expect(Self.filesOnDisk(deployment).isEmpty, "\(Self.filesOnDisk(deployment))")
                let readiness = try await deployment.client.request("GET", "ready")
                #expect(readiness.json["storage"] as? String == "ok")
            }
        }

        /// The store stopped while uploads arrive and while a job runs: uploads get 503 with
        /// Retry-After and `/ready` names the store; the job's task waits for the store (retrying
        /// its reads) and completes once it is back; an upload cut off mid-way leaves no
        /// multipart upload once the sweep ran.
        @Test func theStoreGoingDownCostsRetriesNotData() async throws {
            let store = try await SeaweedFSProcess()
            let postgres = try await PostgresServerProcess()
            let database = try await postgres.createDatabase()
            let prefix = "fault-\(UUID().uuidString.prefix(6).lowercased())"
            let deployment = try await Self.deployment(store, database: database, prefix: prefix, extra: [
                "DALSTON_ARTIFACT_SWEEP_INTERVAL": "2", "DALSTON_ABANDONED_UPLOAD_AGE": "3", "DALSTON_S3_TIMEOUT_SECONDS": "5",
            ])
            try await withTeardown({
                deployment.stop()
                await postgres.stop()
            }) {
                let audio = try Data(contentsOf: try await TestSpeech.wav(saying: "the store came back and nothing was lost"))
                // A job whose first task waits: the prepare engine is stopped while it is queued.
                deployment.services["audio-prepare"]?.kill()
                let created = try await deployment.client.upload(audio, requestID: "req_s3_fault")
                #expect(created.status == 201)
                let id = try #require(created.json["id"] as? String)
                await store.stop()

                let refused = try await deployment.client.upload(audio)
                #expect(refused.status == 503, "\(refused.text)")
                #expect(refused.headers["retry-after"] != nil)
                #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "storage_unavailable")
                let ready = try await deployment.client.request("GET", "ready")
                #expect(ready.status == 503 && ready.json["storage"] as? String == "unavailable", "\(ready.json)")

                // The engine comes back first: its read cannot reach the store, and is retried
                // (logged) until the store is back, within the task.
                try deployment.start("audio-prepare", ["engine", "audio-prepare"], as: "audio-prepare-2")
                let retrying = await eventually(timeout: .seconds(60)) {
                    deployment.services["audio-prepare-2"]?.logLines().contains {
                        $0["event"] as? String == "artifact_store_retry" && $0["job_id"] as? String == id && $0["request_id"] as? String == "req_s3_fault"
                    } == true
                }
                #expect(retrying, "the prepare task waited for the store, saying so")
                try await store.start()
                let job = try await deployment.client.waitForJob(id, timeout: .seconds(180))
                #expect(job["status"] as? String == "completed", "\(job)")
                #expect((job["text"] as? String ?? "").contains("nothing"), "\(job)")

                // A big upload cut off by the store stopping: the part already sent stays as an
                // unfinished multipart upload until the sweep aborts it. The body is sent in two
                // halves over a raw connection, the store stopped in between.
                let samples = [UInt8](repeating: 0, count: 12 << 20)
                let head = Array(Self.form([:], file: Self.wavHeader(dataBytes: samples.count) + Data(samples)))
                let connection = try RawConnection(port: deployment.gatewayPort)
                _ = connection.send(
                    "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=\(Self.formBoundary)\r\nContent-Length: \(head.count)\r\n\r\n")
                let half = head.count / 2
                _ = connection.send(Array(head[..<half]))
                let begun = await eventually(timeout: .seconds(30)) { !((try? await store.pendingUploads(prefix: prefix)) ?? []).isEmpty }
                #expect(begun, "a multipart upload began")
                await store.stop()
                _ = connection.send(Array(head[half...]))
                let answer = await connection.receive(timeout: .seconds(60))
                #expect(answer.text.hasPrefix("HTTP/1.1 503"), "\(answer.text.prefix(300))")
                try await store.start()
                let swept = await eventually(timeout: .seconds(60)) { ((try? await store.pendingUploads(prefix: prefix)) ?? ["?"]).isEmpty }
                #expect(swept, "the sweep aborted the abandoned upload")
                let after = try await deployment.client.upload(audio)
                #expect(after.status == 201, "uploads work again: \(after.text)")
            }
        }

        static let formBoundary = "e2e-form-boundary"
        static var formHeaders: [String: String] { ["Content-Type": "multipart/form-data; boundary=\(formBoundary)"] }

        static func form(_ fields: [String: String], file: Data? = nil) -> Data {
            var body = Data()
            for (name, value) in fields {
                body.append(Data("--\(formBoundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
            }
            if let file {
                body.append(Data("--\(formBoundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"speech.wav\"\r\nContent-Type: audio/wav\r\n\r\n".utf8))
                body.append(file)
                body.append(Data("\r\n".utf8))
            }
            body.append(Data("--\(formBoundary)--\r\n".utf8))
            return body
        }

        static func elevenLabs(_ deployment: Deployment, fields: [String: String], audio: Data?) async throws -> GatewayClient.Reply {
            try await deployment.client.request("POST", "v1/speech-to-text", headers: formHeaders, body: form(fields, file: audio))
        }

        /// A 16 kHz mono 16-bit WAV header for `dataBytes` of samples.
        static func wavHeader(dataBytes: Int) -> Data {
            var bytes = Data("RIFF".utf8)
            func le32(_ value: Int) { withUnsafeBytes(of: UInt32(value).littleEndian) { bytes.append(contentsOf: $0) } }
            func le16(_ value: Int) { withUnsafeBytes(of: UInt16(value).littleEndian) { bytes.append(contentsOf: $0) } }
            le32(36 + dataBytes); bytes.append(Data("WAVEfmt ".utf8)); le32(16); le16(1); le16(1); le32(16_000); le32(32_000); le16(2); le16(16)
            bytes.append(Data("data".utf8)); le32(dataBytes)
            return bytes
        }
    }
}

/// `python3 -m http.server` serving one file from a directory of its own, on loopback.
final class ScratchFileServer: @unchecked Sendable {
    let port: Int
    private let process: Process
    private let directory: URL

    init(serving file: URL) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: file, to: directory.appendingPathComponent("speech.wav"))
        port = try freeTCPPort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", directory.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        ChildProcessRegistry.track(process.processIdentifier)
        let up = await eventually(timeout: .seconds(20)) { [port] in
            (try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/speech.wav")!)) != nil
        }
        guard up else { throw TestSpeech.Unavailable(description: "python3 -m http.server did not start") }
    }

    func url(named name: String) -> String { "http://127.0.0.1:\(port)/\(name)" }

    func stop() {
        ChildExit.kill(process)
        ChildProcessRegistry.untrack(process.processIdentifier)
        try? FileManager.default.removeItem(at: directory)
    }
}
