import DalstonTestSupport
import Foundation
import Testing

/// Several orchestrators on one Redis, as separate processes: every task is enqueued exactly once
/// and every job completes, also when one orchestrator is killed with SIGKILL mid-run.
extension EndToEnd {
    @Suite("End to end: several orchestrators on one Redis",
           .enabled(if: RedisServerProcess.shouldRun && TestSpeech.shouldRun, "needs redis-server, festival and PocketSphinx (installed by make test)"),
           .serialized)
    struct OrchestratorAvailabilityTests {
        /// Uploads `count` jobs at once and returns their ids.
        private func submit(_ count: Int, to deployment: Deployment) async throws -> [String] {
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world"))
            return try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let reply = try await deployment.client.upload(speech, requestID: "req_ha_\(index)")
                        return try #require(reply.json["id"] as? String, "upload \(index): \(reply.status) \(reply.json)")
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }

        /// Task ids an event was logged for, with how often, across the named services.
        private func count(_ event: String, in services: [ServiceProcess]) -> [String: Int] {
            var counts: [String: Int] = [:]
            for service in services {
                for line in service.logLines() where line["event"] as? String == event {
                    if let task = line["task_id"] as? String { counts[task, default: 0] += 1 }
                }
            }
            return counts
        }

        private func waitForAll(_ ids: [String], deployment: Deployment, timeout: Duration) async throws -> [String: String] {
            var statuses: [String: String] = [:]
            let deadline = ContinuousClock.now + timeout
            for id in ids {
                let job = try await deployment.client.waitForJob(id, timeout: max(.seconds(1), deadline - ContinuousClock.now))
                statuses[id] = job["status"] as? String ?? "unknown"
            }
            return statuses
        }

        @Test(arguments: [2, 3])
        func everyTaskIsEnqueuedExactlyOnceWithSeveralOrchestrators(orchestrators: Int) async throws {
            let deployment = try await Deployment()
            defer { deployment.stop() }
            // Each with a /metrics port of its own (a clash would stop it at start-up).
            for index in 2...orchestrators { try deployment.start("orchestrator-\(index)", ["orchestrator"]) }
            // Every orchestrator listens before the jobs arrive (each logs orchestrator_started).
            let names = ["orchestrator"] + (2...orchestrators).map { "orchestrator-\($0)" }
            let started = await eventually(timeout: .seconds(30)) {
                names.allSatisfy { name in deployment.services[name]?.logLines().contains { $0["event"] as? String == "orchestrator_started" } == true }
            }
            #expect(started)

            let ids = try await submit(50, to: deployment)
            let statuses = try await waitForAll(ids, deployment: deployment, timeout: .seconds(240))
            #expect(statuses.values.filter { $0 == "completed" }.count == 50, "\(statuses.filter { $0.value != "completed" })")

            let orchestratorProcesses = names.compactMap { deployment.services[$0] }
            let engines = ["audio-prepare", "transcribe", "merge"].compactMap { deployment.services[$0] }
            // Log lines reach the files within a flush interval of each process; on a loaded
            // machine that can come after the last job's end, so wait for them (a duplicate would
            // still show as a count of 2).
            _ = await eventually(timeout: .seconds(15)) {
                count("task_scheduled", in: orchestratorProcesses).count >= 150 && count("task_started", in: engines).count >= 150
            }
            let scheduled = count("task_scheduled", in: orchestratorProcesses)
            #expect(scheduled.count == 150 && scheduled.values.allSatisfy { $0 == 1 },
                    "each of the 150 tasks scheduled by exactly one orchestrator: \(scheduled.filter { $0.value != 1 })")
            let ran = count("task_started", in: engines)
            #expect(ran.count == 150 && ran.values.allSatisfy { $0 == 1 }, "each task ran once: \(ran.filter { $0.value != 1 })")
            // They really shared the work (each handled events), rather than one doing it all.
            for process in orchestratorProcesses {
                #expect(process.logLines().contains { $0["event"] as? String == "job_scheduled" || $0["event"] as? String == "task_scheduled" },
                        "\(process.name) took part")
            }
        }

        @Test func killingAnOrchestratorMidRunLosesNoJob() async throws {
            let deployment = try await Deployment()
            defer { deployment.stop() }
            try deployment.start("orchestrator-2", ["orchestrator"])
            let survivorUp = await eventually(timeout: .seconds(30)) {
                deployment.services["orchestrator-2"]?.logLines().contains { $0["event"] as? String == "orchestrator_started" } == true
            }
            #expect(survivorUp)

            let ids = try await submit(40, to: deployment)
            let victim = try #require(deployment.services["orchestrator"])
            // Kill it while it is busy: once it has scheduled some tasks, and jobs are still running.
            let busy = await eventually(timeout: .seconds(60)) { self.count("task_scheduled", in: [victim]).count >= 10 }
            #expect(busy)
            victim.kill()
            let killedAfter = count("task_scheduled", in: [victim]).count

            let statuses = try await waitForAll(ids, deployment: deployment, timeout: .seconds(240))
            #expect(statuses.values.filter { $0 == "completed" }.count == 40, "\(statuses.filter { $0.value != "completed" })")
            let survivor = try #require(deployment.services["orchestrator-2"])
            // The victim may have scheduled a task in its last instant without living to log it:
            // the engines' lines are the exact count.
            #expect(count("task_scheduled", in: [survivor]).count + killedAfter <= 120, "no task scheduled twice")
            #expect(count("task_scheduled", in: [survivor]).count > 0, "the survivor carried on")
            let engines = ["audio-prepare", "transcribe", "merge"].compactMap { deployment.services[$0] }
            let ran = count("task_started", in: engines)
            #expect(ran.count == 120 && ran.values.allSatisfy { $0 == 1 }, "each task ran once: \(ran.filter { $0.value != 1 })")
        }
    }
}
