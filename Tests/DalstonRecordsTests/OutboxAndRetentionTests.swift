import AsyncHTTPClient
import DalstonOutboundHTTP
import DalstonBroker
import DalstonCore
import DalstonPipeline
import DalstonSessionRouter
import DalstonTestSupport
import Foundation
import Testing
@testable import DalstonRecords
@testable import DalstonWebhooks

/// What a job's end leaves in the record database: its webhook deliveries (once, to the
/// endpoints subscribed and to its own URL) and its purge date; the purge and the dispatcher.
@Suite("Webhook outbox, dispatcher and retention")
struct OutboxAndRetentionTests {
    static func finished(_ id: String, _ status: JobStatus, retention: Int? = nil, webhookURL: String? = nil, endedAt: Date = Date()) -> [String: String] {
        var record = JobRecord(id: id, status: status, requestID: "req_\(id)", createdAt: endedAt.addingTimeInterval(-5), filename: "a.wav")
        record.retentionDays = retention
        record.webhookURL = webhookURL
        var fields = record.fields
        fields[JobField.completedAt] = Timestamp.string(endedAt)
        if status == .failed { fields[JobField.error] = "the audio is unreadable" }
        return fields
    }

    @Test(arguments: RecordDatabaseKind.available)
    func aJobsEndQueuesOneDeliveryPerSubscriberAndItsOwnURLOnce(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let all = try await store.webhooks.create(url: "http://127.0.0.1:1/all", events: ["*"], description: nil).0
            let completedOnly = try await store.webhooks.create(url: "http://127.0.0.1:1/completed", events: ["transcription.completed"], description: nil).0
            let paused = try await store.webhooks.create(url: "http://127.0.0.1:1/paused", events: ["*"], description: nil).0
            _ = try await store.webhooks.update(paused.id, url: nil, events: nil, description: nil, isActive: false)

            try await store.jobs.save(Self.finished("job-ok", .running, webhookURL: "http://127.0.0.1:1/own"))
            #expect(try await store.webhooks.deliveries(endpointID: nil, jobID: "job-ok").isEmpty, "nothing before the end")
            let done = Self.finished("job-ok", .completed, webhookURL: "http://127.0.0.1:1/own")
            try await store.jobs.save(done)
            try await store.jobs.save(done)  // saved again (another orchestrator, a retried sweep): no second delivery
            let deliveries = try await store.webhooks.deliveries(endpointID: nil, jobID: "job-ok")
            #expect(Set(deliveries.map(\.url)) == ["http://127.0.0.1:1/all", "http://127.0.0.1:1/completed", "http://127.0.0.1:1/own"])
            #expect(deliveries.allSatisfy { $0.event == "transcription.completed" && $0.status == .pending && $0.requestID == "req_job-ok" })
            #expect(deliveries.first { $0.url.hasSuffix("/own") }?.endpointID == nil)

            try await store.jobs.save(Self.finished("job-bad", .failed))
            let failed = try await store.webhooks.deliveries(endpointID: nil, jobID: "job-bad")
            #expect(failed.map(\.endpointID) == [all.id], "only the endpoint subscribed to every event hears a failure")
            let payload = try JSONSerialization.jsonObject(with: Data(try #require(failed.first).payload.utf8)) as? [String: Any]
            #expect(payload?["type"] as? String == "transcription.failed")
            let data = payload?["data"] as? [String: Any]
            #expect(data?["transcription_id"] as? String == "job-bad" && data?["error"] as? String == "the audio is unreadable")
            #expect(try await store.webhooks.deliveries(endpointID: completedOnly.id).count == 1)
        }
    }

    @Test(arguments: RecordDatabaseKind.available)
    func aDeadReceiverIsRetriedOnScheduleThenGivenUpAndAQuietFailingEndpointIsDisabled(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let deadPort = try freeTCPPort()
            let endpoint = try await store.webhooks.create(url: "http://127.0.0.1:\(deadPort)/hook", events: ["*"], description: nil).0
            try await store.jobs.save(Self.finished("job-1", .completed))
            var options = WebhookDispatcherOptions()
            options.retryDelays = [.milliseconds(50), .milliseconds(50)]
            options.timeout = .seconds(2)
            options.addressPolicy = AddressPolicy(allowsPrivate: true)  // the receiver is on loopback
            let dispatcher = WebhookDispatcher(records: store, options: options)
            var rounds = 0
            while rounds < 50, try await store.webhooks.deliveries(endpointID: endpoint.id).first?.status == .pending {
                if !(await dispatcher.deliverDue()) { try await Task.sleep(for: .milliseconds(20)) }
                rounds += 1
            }
            let delivery = try #require(try await store.webhooks.deliveries(endpointID: endpoint.id).first)
            #expect(delivery.status == .failed && delivery.attempts == 3, "1 attempt and 2 retries: \(delivery)")
            #expect(delivery.lastError?.isEmpty == false && delivery.lastStatusCode == nil)
            #expect(try await store.webhooks.endpoint(endpoint.id)?.consecutiveFailures == 1)

            // Ten given-up deliveries in a row and no success for a week: the endpoint is disabled.
            try await store.database.query("UPDATE webhooks SET created_at = $1 WHERE id = $2", [.text(Timestamp.string(Date().addingTimeInterval(-8 * 86_400))), .text(endpoint.id)])
            var disabled = false
            for _ in 0..<9 { disabled = try await store.webhooks.recordFailure(delivery, statusCode: 500, error: "HTTP 500", retryAt: nil) }
            #expect(disabled)
            let after = try #require(try await store.webhooks.endpoint(endpoint.id))
            #expect(!after.isActive && after.disabledReason == "auto_disabled")
            let enabled = try await store.webhooks.update(endpoint.id, url: nil, events: nil, description: nil, isActive: true)
            #expect(enabled?.isActive == true && enabled?.consecutiveFailures == 0 && enabled?.disabledReason == nil)
        }
    }

    @Test func theSignatureIsStandardWebhooksHMACOverIdTimestampAndBody() {
        // Key: the base64 part of the secret; message: "{id}.{timestamp}.{body}" (reference
        // value computed with Python's hmac module).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let signature = WebhookSigner.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: #"{"test": 2432232314}"#, secret: secret)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test(arguments: RecordDatabaseKind.available)
    func theRetentionPurgeDeletesExactlyTheExpiredJobsAndTheirFiles(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-retention-\(UUID().uuidString)")
            let artifacts = FileArtifactStore(root: root)
            let broker = InMemoryBroker()
            let jobs = JobStore(state: broker, history: store.jobs)
            let now = Date()
            let cases: [(String, JobStatus, Int?, Date)] = [
                ("expired-zero", .completed, 0, now.addingTimeInterval(-1)),
                ("expired-days", .failed, 2, now.addingTimeInterval(-3 * 86_400)),
                ("kept-days", .completed, 30, now.addingTimeInterval(-3 * 86_400)),
                ("kept-forever", .completed, nil, now.addingTimeInterval(-400 * 86_400)),
                ("running", .running, 0, now.addingTimeInterval(-10)),
            ]
            for (id, status, retention, ended) in cases {
                let fields = Self.finished(id, status, retention: retention, endedAt: ended)
                _ = try await broker.transition(StateTransition(.job(id), set: fields))
                try await store.jobs.save(fields)
                try await artifacts.write(Array("audio".utf8), to: ArtifactReference(jobID: id, name: "result.json"))
            }
            let purge = RetentionPurge(records: store, state: broker, artifacts: artifacts)
            #expect(Set(await purge.purgeExpired(now: now)) == ["expired-zero", "expired-days"])
            for id in ["expired-zero", "expired-days"] {
                #expect(try await jobs.job(id) == nil, "\(id): neither the live record nor the history keeps it")
                #expect((try? await artifacts.read(ArtifactReference(jobID: id, name: "result.json"))) == nil, "\(id)'s files are gone")
            }
            for id in ["kept-days", "kept-forever", "running"] {
                #expect(try await jobs.job(id) != nil, "\(id) is kept")
                #expect((try? await artifacts.read(ArtifactReference(jobID: id, name: "result.json"))) != nil, "\(id)'s files are kept")
            }
            #expect(try await store.audit.entries(resourceType: "job").map(\.action) == ["job.purged", "job.purged"])
            #expect(await purge.purgeExpired(now: now).isEmpty, "a second pass finds nothing")
        }
    }

    /// Ended sessions past the session retention go with their stored audio and transcript; a
    /// running one and a recent one stay; without a retention nothing is purged.
    @Test(arguments: RecordDatabaseKind.available)
    func theRetentionPurgeDeletesExpiredSessionsAndWhatTheyStored(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let artifacts = FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-retention-\(UUID().uuidString)"))
            let now = Date()
            for (id, status, age) in [("sess_old", "completed", 3.0), ("sess_old_live", "active", 3.0), ("sess_new", "completed", 0.5)] {
                var record = RealtimeSessionRecord(id: id, protocolName: "native", language: "en", model: nil, requestID: "req_\(id)", startedAt: now.addingTimeInterval(-age * 86_400))
                record.status = status
                try await store.sessions.save(record)
                try await artifacts.write([1, 2], to: ArtifactReference(owner: .session(id), name: "audio.wav"))
            }
            #expect(await RetentionPurge(records: store, state: InMemoryBroker(), artifacts: artifacts).purgeExpiredSessions(now: now).isEmpty, "no retention: kept")
            let purge = RetentionPurge(records: store, state: InMemoryBroker(), artifacts: artifacts, sessionRetention: .seconds(86_400))
            #expect(await purge.purgeExpiredSessions(now: now) == ["sess_old"])
            #expect(try await store.sessions.record("sess_old") == nil)
            #expect(try await artifacts.size(of: ArtifactReference(owner: .session("sess_old"), name: "audio.wav")) == nil)
            for kept in ["sess_old_live", "sess_new"] {
                #expect(try await store.sessions.record(kept) != nil)
                #expect(try await artifacts.size(of: ArtifactReference(owner: .session(kept), name: "audio.wav")) == 2)
            }
            #expect(try await store.audit.entries(resourceType: "session").map(\.action) == ["session.purged"])
        }
    }
}
