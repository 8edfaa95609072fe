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
