import DalstonTestSupport
import Foundation
import Testing

/// Webhooks across processes: a registered endpoint and a job's own `webhook_url` hear the
/// job's end, signed so that the Standard Webhooks reference library (`standardwebhooks`)
/// verifies it; a 500 is retried; a receiver that is down slows no job; deliveries and their
/// attempts are visible through the API.
extension EndToEnd {
    @Suite("End to end: webhooks",
           .enabled("needs redis-server, festival, PocketSphinx and the standardwebhooks package (installed by make test)") {
               guard RedisServerProcess.shouldRun, TestSpeech.shouldRun else { return false }
               return TestTools.areRequired ? true : await TestTools.pythonCanImport("standardwebhooks")
           })
    struct WebhooksEndToEndTests {
        static let perJobSecret = "whsec_" + Data((0..<32).map { UInt8($0 * 7 % 256) }).base64EncodedString()

        /// A receiver (Tests/Scripts/webhook_receiver.py) on a free port.
        func receiver(_ name: String, port: Int, secret: String, failFirst: Int = 0, in deployment: Deployment) async throws -> ServiceProcess {
            let command = TestTools.pythonCommand([
                TestTools.repositoryRoot.appendingPathComponent("Tests/Scripts/webhook_receiver.py").path,
                "--port", "\(port)", "--secret", secret, "--fail-first", "\(failFirst)",
            ])
            let process = try ServiceProcess(
                name: name, executable: command.executable, arguments: command.arguments, environment: TestTools.scriptEnvironment, logDirectory: deployment.logDirectory)
            let listening = await eventually(timeout: .seconds(20)) { process.rawLines().contains { $0.contains("\"listening\"") } }
            #expect(listening, "\(name) did not start: \(process.rawLines())")
            return process
        }

        func received(_ process: ServiceProcess) -> [[String: Any]] {
            process.rawLines().compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }.filter { $0["index"] != nil }
        }

        @Test func jobsEndsAreDeliveredSignedRetriedAndRecorded() async throws {
            let deployment = try await Deployment(extraEnvironment: [
                "DALSTON_WEBHOOK_SECRET": Self.perJobSecret, "DALSTON_WEBHOOK_RETRY_DELAYS": "1,1", "DALSTON_WEBHOOK_TIMEOUT": "2",
                // The receivers run on loopback: that one address is allowed, the rest of the
                // private ranges stay refused.
                "DALSTON_ALLOWED_PRIVATE_ADDRESSES": "127.0.0.1",
            ])
            defer { deployment.stop() }
            let client = deployment.client
            for forbidden in ["http://169.254.169.254/latest/meta-data/", "http://[::1]:9/hook", "http://127.0.0.2:9/hook", "http://10.0.0.1/hook"] {
                let refused = try await client.request(
                    "POST", "v1/webhooks", headers: ["Content-Type": "application/json"],
                    body: try JSONSerialization.data(withJSONObject: ["url": forbidden, "events": ["*"]]))
                #expect(refused.status == 400 && refused.text.contains("url_not_allowed"), "\(forbidden): \(refused.text)")
            }
            let (registeredPort, perJobPort, deadPort) = (try freeTCPPort(), try freeTCPPort(), try freeTCPPort())

            // A registered endpoint for every event, whose receiver fails its first request.
            let created = try await client.request(
                "POST", "v1/webhooks", headers: ["Content-Type": "application/json"],
                body: try JSONSerialization.data(withJSONObject: ["url": "http://127.0.0.1:\(registeredPort)/hook", "events": ["*"], "description": "e2e"]))
            #expect(created.status == 201, "\(created.json)")
            let endpointID = try #require(created.json["id"] as? String)
            let secret = try #require(created.json["signing_secret"] as? String)
            #expect(secret.hasPrefix("whsec_"))
            #expect(try await client.request("GET", "v1/webhooks/\(endpointID)").json["signing_secret"] == nil, "the secret is shown once")
            // And one whose receiver is down: it must not slow anything.
            let dead = try await client.request(
                "POST", "v1/webhooks", headers: ["Content-Type": "application/json"],
                body: try JSONSerialization.data(withJSONObject: ["url": "http://127.0.0.1:\(deadPort)/hook", "events": ["transcription.completed"]]))
            let deadID = try #require(dead.json["id"] as? String)

            let registered = try await receiver("receiver-registered", port: registeredPort, secret: secret, failFirst: 1, in: deployment)
            let perJob = try await receiver("receiver-job", port: perJobPort, secret: Self.perJobSecret, in: deployment)

            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world"))
            let upload = try await client.upload(speech, requestID: "req_webhook_e2e", fields: [
                "webhook_url": "http://127.0.0.1:\(perJobPort)/job-hook", "webhook_metadata": "{\"order\": 42}",
            ])
            #expect(upload.status == 201, "\(upload.json)")
            let jobID = try #require(upload.json["id"] as? String)
            let job = try await client.waitForJob(jobID)
            #expect(job["status"] as? String == "completed")
            #expect((job["processing_time_seconds"] as? Double ?? 99) < 20, "the dead receiver did not hold the job up")

            // The registered endpoint: a 500, then the retry succeeds; both signed and verified.
            #expect(await eventually(timeout: .seconds(30)) { received(registered).count >= 2 })
            let registeredRequests = received(registered)
            #expect(registeredRequests.allSatisfy { $0["verified"] as? Bool == true }, "\(registeredRequests)")
            #expect(registeredRequests.map { $0["answered"] as? Int } == [500, 200])
            #expect(Set(registeredRequests.compactMap { $0["webhook_id"] as? String }).count == 1, "a retry keeps its webhook-id")
            #expect(registeredRequests.last?["type"] as? String == "transcription.completed")
            #expect(registeredRequests.last?["transcription_id"] as? String == jobID)
            #expect(registeredRequests.last?["request_id"] as? String == "req_webhook_e2e", "X-Request-ID carries the job's request")
            #expect(registeredRequests.last?["payload_request_id"] as? String == "req_webhook_e2e")

            // The job's own URL, signed with DALSTON_WEBHOOK_SECRET, with its metadata.
            #expect(await eventually(timeout: .seconds(30)) { !received(perJob).isEmpty })
            let jobRequest = try #require(received(perJob).first)
            #expect(jobRequest["verified"] as? Bool == true, "\(jobRequest)")
            #expect(jobRequest["path"] as? String == "/job-hook")
            #expect((jobRequest["metadata"] as? [String: Any])?["order"] as? Int == 42)

            // The deliveries as the API shows them.
            let deliveries = try await client.request("GET", "v1/webhooks/\(endpointID)/deliveries").json["deliveries"] as? [[String: Any]] ?? []
            #expect(deliveries.count == 1)
            #expect(deliveries.first?["status"] as? String == "success")
            #expect(deliveries.first?["attempts"] as? Int == 2)
            #expect(deliveries.first?["last_status_code"] as? Int == 200)
            #expect(deliveries.first?["job_id"] as? String == jobID)

            // The dead receiver: three attempts (1 + two retries), then failed; nothing else waited for it.
            let deadFailed = await eventually(timeout: .seconds(30)) {
                let list = (try? await client.request("GET", "v1/webhooks/\(deadID)/deliveries").json["deliveries"] as? [[String: Any]]) ?? []
                return list.first?["status"] as? String == "failed"
            }
            #expect(deadFailed)
            let deadDelivery = try await client.request("GET", "v1/webhooks/\(deadID)/deliveries").json["deliveries"] as? [[String: Any]] ?? []
            #expect(deadDelivery.first?["attempts"] as? Int == 3)
            #expect((deadDelivery.first?["last_error"] as? String ?? "").isEmpty == false)
            // Info lines reach the log within the writer's flush interval (50 ms): wait for them.
            let orchestrator = try #require(deployment.services["orchestrator"])
            #expect(await eventually(timeout: .seconds(10)) {
                orchestrator.logLines().contains { $0["event"] as? String == "webhook_delivered" && $0["request_id"] as? String == "req_webhook_e2e" }
            })
            #expect(orchestrator.logLines().contains { $0["event"] as? String == "webhook_delivery_abandoned" && $0["job_id"] as? String == jobID })

            // A failed delivery can be retried by hand.
            let deliveryID = try #require(deadDelivery.first?["id"] as? String)
            let retried = try await client.request("POST", "v1/webhooks/\(deadID)/deliveries/\(deliveryID)/retry")
            #expect(retried.status == 200 && retried.json["status"] as? String == "pending", "\(retried.json)")
            #expect(try await client.request("DELETE", "v1/webhooks/\(deadID)").status == 204)
            #expect(try await client.request("GET", "v1/webhooks/\(deadID)").status == 404)
            registered.terminate()
            perJob.terminate()
        }
    }
}
