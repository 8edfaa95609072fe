import DalstonRedis
import DalstonTestSupport
import Foundation
import Testing

/// The job history lives in the record database (SQLite under the data directory here, shared
/// by the gateway and orchestrator processes): a Redis FLUSHALL loses no finished job, and a
/// job that was in flight is reported as failed with the reason, not left "running" forever.
extension EndToEnd {
    @Suite("End to end: job history survives Redis",
           .enabled(if: RedisServerProcess.shouldRun && TestSpeech.shouldRun, "needs redis-server, festival and PocketSphinx (installed by make test)"))
    struct RecordsEndToEndTests {
        @Test func finishedJobsSurviveFlushallAndAnInFlightJobIsReportedAsLost() async throws {
            let deployment = try await Deployment(extraEnvironment: ["DALSTON_JOB_LOST_STATE_GRACE": "2"])
            defer { deployment.stop() }
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world"))
            var finished: [String: [String: Any]] = [:]
            for index in 0..<3 {
                let reply = try await deployment.client.upload(speech, requestID: "req_history_\(index)")
                let id = try #require(reply.json["id"] as? String, "\(reply.status) \(reply.json)")
                let job = try await deployment.client.waitForJob(id)
                #expect(job["status"] as? String == "completed")
                finished[id] = job
            }
            // No transcribe engine: the next job stays in flight.
            await deployment.services["transcribe"]?.terminateAndWait()
            let pending = try #require(try await deployment.client.upload(speech, requestID: "req_history_pending").json["id"] as? String)

            let redis = RedisClient(configuration: deployment.redis.configuration)
            _ = try await redis.send(RedisCommand("FLUSHALL"))
            await redis.shutdown()

            let listing = try await deployment.client.request("GET", "v1/audio/transcriptions").json
            let listed = (listing["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(Set(listed) == Set(finished.keys).union([pending]), "\(listing)")
            for (id, before) in finished {
                let after = try await deployment.client.request("GET", "v1/audio/transcriptions/\(id)").json
                #expect(after["status"] as? String == "completed")
                #expect(after["request_id"] as? String == before["request_id"] as? String)
                #expect(after["completed_at"] as? String == before["completed_at"] as? String)
                #expect((after["text"] as? String ?? "").contains("hello"), "the transcript is still there: \(after)")
            }
            // The orchestrator's sweep finds the in-flight job's live state gone.
            let lost = try await deployment.client.waitForJob(pending, timeout: .seconds(30))
            #expect(lost["status"] as? String == "failed")
            let error = lost["error"] as? [String: Any]
            #expect((error?["message"] as? String ?? "").contains("live state was lost"), "\(lost)")
            let orchestratorLog = try #require(deployment.services["orchestrator"]).logLines()
            #expect(orchestratorLog.contains { $0["event"] as? String == "job_state_lost" && $0["job_id"] as? String == pending })

            // A finished job deleted after the flush is gone from the history too.
            let someID = try #require(finished.keys.first)
            #expect(try await deployment.client.request("DELETE", "v1/audio/transcriptions/\(someID)").status == 204)
            #expect(try await deployment.client.request("GET", "v1/audio/transcriptions/\(someID)").status == 404)
        }
    }
}

extension EndToEnd.RecordsEndToEndTests {
    /// `dalston keys` beside running services (one SQLite file under the data directory): a
    /// key works at once, its scope is enforced, `list` never shows a secret, and a revoked key
    /// is refused by the running gateway.
    @Test func keysMadeByTheCommandAreCheckedByTheRunningGateway() async throws {
        let deployment = try await Deployment(extraEnvironment: ["DALSTON_SECURITY_MODE": "api_key"])
        defer { deployment.stop() }
        func keys(_ arguments: [String]) async throws -> ProcessResult {
            try await runProcess(DalstonBinary.url, arguments: ["keys"] + arguments, environment: deployment.environment)
        }
        let created = try await keys(["create", "--scopes", "jobs:read", "--name", "e2e reader", "--expires", "1d"])
        #expect(created.status == 0, "\(created.stderr)")
        let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("dk_") && secret.count == 43)
        #expect(created.stderr.contains("only time the key is shown"))

        let client = deployment.client
        #expect(try await client.request("GET", "v1/audio/transcriptions").status == 401)
        #expect(try await client.request("GET", "v1/audio/transcriptions", headers: ["Authorization": "Bearer \(secret)"]).status == 200)
        let write = try await client.upload(Data("RIFF".utf8), fields: [:], headers: ["Authorization": "Bearer \(secret)"])
        #expect(write.status == 403 && write.text.contains("jobs:write"), "\(write.status) \(write.text)")
        let me = try await client.request("GET", "auth/me", headers: ["Authorization": "Bearer \(secret)"]).json
        #expect(me["name"] as? String == "e2e reader" && me["scopes"] as? [String] == ["jobs:read"])

        let listed = try await keys(["list", "--json"])
        #expect(listed.status == 0 && !listed.stdout.contains(secret) && listed.stdout.contains("e2e reader"))
        let prefix = String(secret.prefix(9))
        let revoked = try await keys(["revoke", prefix])
        #expect(revoked.status == 0 && revoked.stdout.contains("revoked"), "\(revoked.stdout) \(revoked.stderr)")
        let refused = try await client.request("GET", "v1/audio/transcriptions", headers: ["Authorization": "Bearer \(secret)"])
        #expect(refused.status == 401 && refused.text.contains("key_revoked"), "\(refused.text)")
        #expect(try await keys(["revoke", "dk_nothing"]).status != 0, "an unknown key is an error")
        #expect(try await keys(["create", "--scopes", "jobs:everything"]).status != 0, "an unknown scope is an error")
    }
}
