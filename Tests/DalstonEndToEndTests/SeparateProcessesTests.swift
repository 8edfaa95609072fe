import DalstonTestSupport
import Foundation
import Testing

/// Gateway, orchestrator and the three engines as five separate `dalston` processes on a real
/// redis-server, with JSON logs read back from each process.
extension EndToEnd {
    @Suite("End to end: separate processes on Redis",
           .enabled(if: RedisServerProcess.shouldRun && TestSpeech.shouldRun, "needs redis-server, festival and PocketSphinx (installed by .ci/run)"),
           .serialized)
    struct SeparateProcessesTests {
        @Test func aJobOfRealSpeechCrossesFiveProcessesUnderOneRequestID() async throws {
            let deployment = try await Deployment()
            defer { deployment.stop() }
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world, this is a test of the transcription system"))
            let requestID = "req_e2e_\(UUID().uuidString.prefix(8).lowercased())"
            let created = try await deployment.client.upload(speech, requestID: requestID, fields: ["language": "en"])
            #expect(created.status == 201)
            #expect(created.headers["x-request-id"] == requestID)
            let id = try #require(created.json["id"] as? String)
            let job = try await deployment.client.waitForJob(id)
            #expect(job["status"] as? String == "completed", "\(job)")
            let text = job["text"] as? String ?? ""
            for word in ["hello", "world", "test", "transcription", "system"] { #expect(text.contains(word), "\(word) not in \(text)") }

            // The last line about the job (merge's task_completed) is written just after the job
            // completes: wait for it, then read every process's log.
            let mergeDone = await eventually(timeout: .seconds(10)) {
                deployment.services["merge"]?.logLines().contains { $0["event"] as? String == "task_completed" && $0["job_id"] as? String == id } == true
            }
            #expect(mergeDone)
            var processesWithTheRequest: Set<String> = []
            for (name, service) in deployment.services {
                let raw = service.rawLines()
                let parsed = service.logLines()
                #expect(parsed.count == raw.count, "\(name) wrote lines that are not JSON: \(raw.filter { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) == nil }.prefix(3))")
                let aboutTheJob = parsed.filter { $0["job_id"] as? String == id }
                #expect(aboutTheJob.allSatisfy { $0["request_id"] as? String == requestID },
                        "\(name): lines about \(id) without its request_id: \(aboutTheJob.filter { $0["request_id"] as? String != requestID }.prefix(2))")
                if parsed.contains(where: { $0["request_id"] as? String == requestID }) { processesWithTheRequest.insert(name) }
            }
            #expect(processesWithTheRequest == ["gateway", "orchestrator", "audio-prepare", "transcribe", "merge"],
                    "jq 'select(.request_id == \"\(requestID)\")' finds lines in \(processesWithTheRequest.sorted())")
        }

        @Test func killingAnEngineMidTaskStillCompletesTheJobAndCorruptUploadsAreRejected() async throws {
            let deployment = try await Deployment()
            defer { deployment.stop() }
            // Long enough audio that the recogniser is still busy when it is killed.
            let sentence = "the quick brown fox jumps over the lazy dog while the transcription system keeps listening"
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: Array(repeating: sentence, count: 6).joined(separator: ". ")))
            let created = try await deployment.client.upload(speech, requestID: "req_e2e_fault")
            let id = try #require(created.json["id"] as? String)
            let transcribe = try #require(deployment.services["transcribe"])
            let started = await eventually(timeout: .seconds(30)) {
                transcribe.logLines().contains { $0["event"] as? String == "task_started" && $0["job_id"] as? String == id }
            }
            #expect(started)
            transcribe.kill()

            let corrupt = try await deployment.client.upload(Data("RIFF\u{0}\u{0}\u{0}\u{0}WAVEjunk".utf8), requestID: "req_e2e_corrupt")
            #expect(corrupt.status == 400)
            #expect((corrupt.json["error"] as? [String: Any])?["code"] as? String == "unsupported_audio")

            try deployment.start("transcribe", ["engine", "transcribe"], as: "transcribe-restarted")
            let job = try await deployment.client.waitForJob(id, timeout: .seconds(120))
            #expect(job["status"] as? String == "completed", "\(job)")
            #expect((job["text"] as? String ?? "").contains("fox"))
            let restarted = try #require(deployment.services["transcribe-restarted"])
            #expect(restarted.logLines().contains { $0["event"] as? String == "task_started" && $0["job_id"] as? String == id && $0["request_id"] as? String == "req_e2e_fault" },
                    "the task was redelivered to the restarted engine with its request_id")
        }
    }
}
