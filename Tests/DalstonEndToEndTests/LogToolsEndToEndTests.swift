import DalstonTestSupport
import Foundation
import Testing

/// `dalston logs` on the real log files of five processes, and log levels changed on running
/// processes without a restart.
extension EndToEnd {
    @Suite("End to end: log tools on separate processes",
           .enabled(if: RedisServerProcess.shouldRun && TestSpeech.shouldRun, "needs redis-server, festival and PocketSphinx (installed by .ci/run)"),
           .serialized)
    struct LogToolsEndToEndTests {
        private func dalston(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessResult {
            var merged = ProcessInfo.processInfo.environment
            merged.merge(environment) { $1 }
            return try await runProcess(DalstonBinary.url, arguments: arguments, environment: merged)
        }

        @Test func oneRequestsStoryAcrossEveryServiceAndNothingOfAnother() async throws {
            let deployment = try await Deployment()
            defer { deployment.stop() }
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world"))
            var jobs: [String: String] = [:]
            for request in ["req_story_one", "req_story_two"] {
                let created = try await deployment.client.upload(speech, requestID: request)
                jobs[request] = try #require(created.json["id"] as? String)
            }
            for id in jobs.values { #expect(try await deployment.client.waitForJob(id)["status"] as? String == "completed") }
            // merge's task_completed is the last line about a job: wait until it is written.
            #expect(await eventually(timeout: .seconds(10)) {
                jobs.values.allSatisfy { id in deployment.services["merge"]?.logLines().contains { $0["event"] as? String == "task_completed" && $0["job_id"] as? String == id } == true }
            })
            let json = try await dalston(["logs", "--request-id", "req_story_one", "--format", "json", deployment.logDirectory.path])
            #expect(json.status == 0, "\(json.stderr)")
            let lines = json.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let loggers = Set(lines.compactMap { $0["logger"] as? String })
            for expected in ["dalston.gateway", "dalston.orchestrator", "dalston.engine.audio-prepare", "dalston.engine.transcribe", "dalston.engine.merge"] {
                #expect(loggers.contains(expected), "no \(expected) line in \(loggers.sorted())")
            }
            #expect(!json.stdout.contains("req_story_two") && !json.stdout.contains(jobs["req_story_two"] ?? "-"), "another request's lines leaked in")
            let stamps = lines.compactMap { $0["timestamp"] as? String }
            #expect(stamps == stamps.sorted(), "merged in time order")

            let summary = try await dalston(["logs", "--request-id", "req_story_one", "--summary", deployment.logDirectory.path])
            for stage in ["prepare", "transcribe", "merge"] { #expect(summary.stdout.contains("stage \(stage)"), "\(summary.stdout)") }
            #expect(summary.stdout.contains("slowest step") && summary.stdout.contains("errors: none"))
            let timeline = try await dalston(["logs", "--request-id", "req_story_one", "--color", "never", deployment.logDirectory.path])
            #expect(timeline.stdout.hasPrefix("request req_story_one"), "\(timeline.stdout.prefix(300))")
            #expect(timeline.stdout.contains("engine.transcribe") && timeline.stdout.contains("task_completed"))
        }

        @Test func aRunningOrchestratorLogsDebugAfterABroadcastAndStopsAfterTheRevert() async throws {
            let deployment = try await Deployment(extraEnvironment: ["DALSTON_ADMIN_TOKEN": "admin-secret"])
            defer { deployment.stop() }
            let orchestrator = try #require(deployment.services["orchestrator"])
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello"))
            func debugLines() -> Int { orchestrator.logLines().filter { $0["level"] as? String == "debug" }.count }
            #expect(debugLines() == 0)

            let set = try await dalston(["loglevel", "set", "debug", "--service", "orchestrator", "--for", "4s"], environment: ["REDIS_URL": deployment.redis.url])
            #expect(set.status == 0, "\(set.stderr)")
            #expect(await eventually(timeout: .seconds(10)) { orchestrator.logLines().contains { $0["event"] as? String == "log_level_changed" } })
            let first = try #require(try await deployment.client.upload(speech).json["id"] as? String)
            _ = try await deployment.client.waitForJob(first)
            #expect(debugLines() > 0, "debug lines appear without a restart")
            #expect(await eventually(timeout: .seconds(15)) { orchestrator.logLines().contains { $0["event"] as? String == "log_level_reverted" } })
            let afterRevert = debugLines()
            let second = try #require(try await deployment.client.upload(speech).json["id"] as? String)
            _ = try await deployment.client.waitForJob(second)
            #expect(debugLines() == afterRevert, "no debug line after the revert")
            #expect(deployment.services["gateway"]?.logLines().contains { $0["event"] as? String == "log_level_changed" } == false, "only the orchestrator changed")

            // Over HTTP, on the gateway: refused without the admin token, applied with it.
            let body = Data(#"{"level": "debug", "logger": "dalston.gateway", "duration_seconds": 60}"#.utf8)
            #expect(try await deployment.client.request("PUT", "admin/log-level", body: body).status == 401)
            #expect(try await deployment.client.request("PUT", "admin/log-level", headers: ["Authorization": "Bearer wrong"], body: body).status == 401)
            let applied = try await deployment.client.request("PUT", "admin/log-level", headers: ["Authorization": "Bearer admin-secret"], body: body)
            #expect(applied.status == 200)
            #expect((applied.json["levels"] as? [String: String])?["dalston.gateway"] == "debug")
            #expect(await eventually(timeout: .seconds(5)) {
                deployment.services["gateway"]?.logLines().contains { $0["event"] as? String == "log_level_changed" && $0["source"] as? String == "admin_http" } == true
            })
        }
    }
}
