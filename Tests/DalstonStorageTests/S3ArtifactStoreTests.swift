import Crypto
import DalstonMetrics
import DalstonPipeline
import DalstonStorage
import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The S3 store against a real S3 server (SeaweedFS), each result read back with boto3, AWS's own
/// client: what Dalston writes is an ordinary object anyone's tools can read.
@Suite("S3 artifact store", .enabled(if: SeaweedFSProcess.shouldRun, Comment(rawValue: SeaweedFSProcess.skipReason)), .serialized)
struct S3ArtifactStoreTests {
    static func store(_ server: SeaweedFSProcess, prefix: String = "t-\(UUID().uuidString.prefix(8))/", partBytes: Int = 5 << 20) throws -> S3ArtifactStore {
        let location = try #require(try S3Location.fromEnvironment(server.environment(prefix: prefix)))
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-s3-cache-\(UUID().uuidString)")
        return S3ArtifactStore(client: S3Client(location: location, requestTimeout: .seconds(10)), cache: cache, partBytes: partBytes)
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    @Test func objectsAreWrittenReadStreamedAndDeletedAsBoto3SeesThem() async throws {
        let server = try await SeaweedFSProcess()
        let store = try Self.store(server)
        let small = ArtifactReference(jobID: "job-1", name: "result.json")
        try await store.write(Array(#"{"text":"hello"}"#.utf8), to: small)
        try await store.write(Array(#"{"text":"hello again"}"#.utf8), to: small)  // a redelivered task writes again
        #expect(try await store.read(small) == Array(#"{"text":"hello again"}"#.utf8))
        #expect(try await store.size(of: small) == #"{"text":"hello again"}"#.utf8.count)
        let seen = try #require(try await server.object(store.key(small)))
        #expect(seen.sha256 == Self.sha256(Array(#"{"text":"hello again"}"#.utf8)))

        // 12.5 MB through a writer: three parts of a multipart upload, never more than one in memory.
        var big: [UInt8] = []
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<(12_500_000 / 8) { withUnsafeBytes(of: generator.next()) { big += $0 } }
        let audio = ArtifactReference(jobID: "job-1", name: "audio.wav")
        let writer = try await store.makeWriter(for: audio)
        for start in stride(from: 0, to: big.count, by: 64 * 1024) { try await writer.append(Array(big[start..<min(start + 64 * 1024, big.count)])) }
        #expect(try await store.size(of: audio) == nil, "nothing is visible before commit")
        try await writer.commit()
        let stored = try #require(try await server.object(store.key(audio)))
        #expect(stored.size == big.count && stored.sha256 == Self.sha256(big), "boto3 reads back the same bytes")
        let contents = try await store.open(audio)
        var streamed: [UInt8] = []
        var chunks = 0
        for try await chunk in contents.chunks {
            streamed += chunk
            chunks += 1
        }
        #expect(contents.byteCount == big.count && streamed == big && chunks > 1)
        let copy = try await store.localFile(audio)
        #expect(try Data(contentsOf: copy) == Data(big))
        #expect(try await store.localFile(audio) == copy, "the copy is reused while the object is unchanged")

        // A presigned URL works without credentials, and only for its object.
        let url = try #require(store.downloadURL(for: small, lifetime: .seconds(60)))
        let (body, response) = try await URLSession.shared.data(from: url)
        #expect((response as? HTTPURLResponse)?.statusCode == 200 && Array(body) == Array(#"{"text":"hello again"}"#.utf8))
        let forged = try #require(URL(string: url.absoluteString.replacingOccurrences(of: "result.json", with: "audio.wav")))
        let (_, refused) = try await URLSession.shared.data(from: forged)
        #expect((refused as? HTTPURLResponse)?.statusCode == 403)

        #expect(try await store.removeAll(ofJob: "job-1", except: [small]) == 1)
        let smallKept = try await store.exists(small)
        let audioGone = try await !store.exists(audio)
        #expect(smallKept && audioGone)
        #expect(!FileManager.default.fileExists(atPath: copy.path), "the local copy goes with the object")
        #expect(try await store.removeAll(ofJob: "job-1") == 1)
        #expect(try await server.object(store.key(small)) == nil)
        await #expect(throws: ArtifactError.notFound(small)) { try await store.read(small) }
    }

    @Test func aDiscardedOrFailedWriteLeavesNothingAndAbandonedUploadsAreSwept() async throws {
        let server = try await SeaweedFSProcess()
        let prefix = "sweep-\(UUID().uuidString.prefix(8))/"
        let store = try Self.store(server, prefix: prefix)
        let reference = ArtifactReference(jobID: "job-2", name: "audio.wav")
        let writer = try await store.makeWriter(for: reference)
        try await writer.append([UInt8](repeating: 1, count: 6 << 20))  // a part sent: an upload exists
        #expect(try await server.pendingUploads(prefix: prefix).count == 1)
        await writer.discard()
        #expect(try await server.pendingUploads(prefix: prefix).isEmpty, "discard aborted the upload")
        #expect(try await store.size(of: reference) == nil)

        // A process that died mid-upload: the sweep aborts what is older than the age given.
        let crashed = try await store.makeWriter(for: ArtifactReference(jobID: "job-3", name: "audio.wav"))
        try await crashed.append([UInt8](repeating: 2, count: 6 << 20))
        #expect(try await store.removeAbandonedWrites(olderThan: .seconds(3600)) == 0, "a fresh upload is left alone")
        try await Task.sleep(for: .seconds(2))
        #expect(try await store.removeAbandonedWrites(olderThan: .seconds(1)) >= 1)
        #expect(try await server.pendingUploads(prefix: prefix).isEmpty)
        _ = crashed
    }

    @Test func aStoppedServerIsUnavailableWithinTheTimeoutAndWorksAgainOnceBack() async throws {
        let server = try await SeaweedFSProcess()
        let store = try Self.store(server)
        let reference = ArtifactReference(jobID: "job-4", name: "result.json")
        try await store.write([1, 2, 3], to: reference)
        await server.stop()
        let started = ContinuousClock.now
        do {
            try await store.write([4], to: reference)
            Issue.record("a write to a stopped server succeeded")
        } catch {
            #expect(error.isUnavailable, "\(error)")
            #expect(!error.description.contains(server.secretKey))
        }
        #expect(ContinuousClock.now - started < .seconds(30), "bounded by the timeouts")
        try await server.start()
        #expect(try await store.read(reference) == [1, 2, 3], "nothing lost")
        try await store.write([4], to: reference)
        #expect(try await store.read(reference) == [4])
    }

    @Test func wrongCredentialsAreDeniedWithAnActionableMessage() async throws {
        let server = try await SeaweedFSProcess()
        var environment = server.environment()
        environment["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        let location = try #require(try S3Location.fromEnvironment(environment))
        let store = S3ArtifactStore(client: S3Client(location: location), cache: FileManager.default.temporaryDirectory)
        do {
            try await store.write([1], to: ArtifactReference(jobID: "job-5", name: "x"))
            Issue.record("a write with a wrong secret succeeded")
        } catch {
            #expect(!error.isUnavailable)
            #expect(error.description.contains("AWS_SECRET_ACCESS_KEY"), "\(error)")
            #expect(!error.description.contains("not-the-secret"))
        }
    }

    @Test func theInstrumentedStoreMeasuresEachCall() async throws {
        let server = try await SeaweedFSProcess()
        let metrics = MetricsRuntime.standalone(service: "test")
        let store = InstrumentedArtifactStore(try Self.store(server), backend: "s3", instruments: metrics.instruments(for: "test"))
        let reference = ArtifactReference(jobID: "job-6", name: "result.json")
        try await store.write(Array("abc".utf8), to: reference)
        _ = try await store.read(reference)
        _ = try? await store.read(ArtifactReference(jobID: "job-6", name: "missing"))
        let text = await metrics.exposition?.render() ?? []
        let exposition = String(decoding: text, as: UTF8.self)
        #expect(exposition.contains(#"dalston_artifact_store_requests_total{service="test",backend="s3",operation="write",outcome="success"} 1"#), "\(exposition.prefix(3000))")
        #expect(exposition.contains(#"operation="read",outcome="not_found""#))
        #expect(exposition.contains(#"dalston_artifact_store_bytes_total{service="test",backend="s3",direction="write"} 3"#))
    }

    @Test func theLocationIsReadFromTheEnvironmentAndMistakesAreNamed() throws {
        #expect(try S3Location.fromEnvironment([:]) == nil, "unset: local files")
        let location = try #require(try S3Location.fromEnvironment([
            "DALSTON_ARTIFACTS_URL": "s3://my-bucket/dalston/prod", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "eu-west-1",
        ]))
        #expect(location.bucket == "my-bucket" && location.prefix == "dalston/prod/" && location.region == "eu-west-1")
        #expect(location.endpoint.absoluteString == "https://s3.eu-west-1.amazonaws.com" && !location.pathStyle)
        #expect(throws: S3Location.Invalid.self) { try S3Location.fromEnvironment(["DALSTON_ARTIFACTS_URL": "s3://b-ok/x"]) }
        #expect(throws: S3Location.Invalid.self) { try S3Location.fromEnvironment(["DALSTON_ARTIFACTS_URL": "ftp://x", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"]) }
        #expect(throws: S3Location.Invalid.self) {
            try S3Location.fromEnvironment(["DALSTON_ARTIFACTS_URL": "s3://Bad_Bucket/x", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        }
        let custom = try #require(try S3Location.fromEnvironment([
            "DALSTON_ARTIFACTS_URL": "s3://b-ok", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "DALSTON_S3_ENDPOINT": "http://minio:9000",
        ]))
        #expect(custom.pathStyle && custom.prefix.isEmpty)
    }
}
