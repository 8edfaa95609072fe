import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Faults on separate processes and a real Redis (issue 16): processes killed at random, Redis
/// killed and restarted from its append-only file, engines sharing a host without chosen ports.
/// Every job must end `completed` (with its transcript) or `failed` (with a reason); none may
/// stay `running`.
extension EndToEnd {
    @Suite("Fault suite: separate processes on Redis",
           .enabled(if: RedisServerProcess.shouldRun && TestSpeech.shouldRun, "needs redis-server, festival and PocketSphinx (installed by .ci/run)"),
           .serialized)
    struct FaultSuiteTests {
        static let roles: [(name: String, arguments: [String])] = [
            ("gateway", ["gateway"]), ("orchestrator", ["orchestrator"]),
            ("audio-prepare", ["engine", "audio-prepare"]), ("transcribe", ["engine", "transcribe"]), ("merge", ["engine", "merge"]),
        ]

        /// Submits like a patient client: retries refused or broken attempts until accepted.
        private func submit(_ speech: Data, to deployment: Deployment, requestID: String) async throws -> String? {
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                if let reply = try? await deployment.client.upload(speech, requestID: requestID), reply.status == 201, let id = reply.json["id"] as? String {
                    return id
                }
                try await Task.sleep(for: .milliseconds(300))
            }
            return nil
        }

        /// Each job as it ends up, reading through gateway restarts.
        private func finalJobs(_ ids: [String], in deployment: Deployment, timeout: Duration) async throws -> [String: [String: Any]] {
            var jobs: [String: [String: Any]] = [:]
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                for id in ids where !Self.isFinal(jobs[id]) {
                    if let reply = try? await deployment.client.request("GET", "v1/audio/transcriptions/\(id)"), reply.status == 200 { jobs[id] = reply.json }
                }
                if ids.allSatisfy({ Self.isFinal(jobs[$0]) }) { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            return jobs
        }

        private static func isFinal(_ job: [String: Any]?) -> Bool {
            ["completed", "failed", "cancelled"].contains(job?["status"] as? String ?? "")
        }

        private func expectEveryJobSettled(_ jobs: [String: [String: Any]], ids: [String], sourceLocation: SourceLocation = #_sourceLocation) {
            for id in ids {
                let job = jobs[id] ?? [:]
                let status = job["status"] as? String ?? "unknown"
                #expect(status == "completed" || status == "failed", "\(id) ended \(status): \(job)", sourceLocation: sourceLocation)
                if status == "completed" {
                    #expect((job["text"] as? String ?? "").contains("hello"), "\(id) completed without its transcript: \(job)", sourceLocation: sourceLocation)
                }
                if status == "failed" {
                    #expect(!(job["error"] as? String ?? "").isEmpty, "\(id) failed without a reason", sourceLocation: sourceLocation)
                }
            }
        }

        @Test func killingEveryKindOfProcessAtRandomDuring30JobsLeavesNoJobRunning() async throws {
            let deployment = try await Deployment()
            defer { deployment.stop() }
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world, this is a test"))
            var generator = SystemRandomNumberGenerator()
            let seed = UInt64.random(in: 0...UInt64.max, using: &generator)
            // Every kind of process is killed at least twice, in a random order, at random moments.
            let chaos = Task {
                var random = SeededGenerator(seed: seed)
                var kills: [String] = []
                let order = (Self.roles + Self.roles).shuffled(using: &random)
                for role in order {
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 700...2500, using: &random)))
                    deployment.services[role.name]?.kill()
                    kills.append(role.name)
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 100...800, using: &random)))
                    try? deployment.start(role.name, role.arguments)
                }
                return kills
            }
            // Jobs arrive over the whole run, so kills land in every phase of the pipeline.
            var ids: [String] = []
            for index in 0..<30 {
                if let id = try await submit(speech, to: deployment, requestID: "req_fault_\(index)") { ids.append(id) }
                try await Task.sleep(for: .milliseconds(500))
            }
            let kills = await chaos.value
            #expect(ids.count == 30, "every job was accepted in the end (the client retried)")
            #expect(Set(kills) == Set(Self.roles.map(\.name)), "seed \(seed): killed \(kills)")
            // Whatever the chaos left dead is started again, as a supervisor would.
            for role in Self.roles where deployment.services[role.name]?.isRunning != true { try deployment.start(role.name, role.arguments) }
            let jobs = try await finalJobs(ids, in: deployment, timeout: .seconds(240))
            expectEveryJobSettled(jobs, ids: ids)
            let completed = ids.filter { jobs[$0]?["status"] as? String == "completed" }.count
            print("fault suite (seed \(seed)): \(kills.count) kills \(kills), \(completed)/\(ids.count) jobs completed, the rest failed with a reason")
        }

        @Test func redisKilledAndRestartedFromItsAppendOnlyFileLosesNoJob() async throws {
            let deployment = try await Deployment(redisAppendOnly: true)
            defer { deployment.stop() }
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world, this is a test"))
            var ids: [String] = []
            for index in 0..<10 {
                if let id = try await submit(speech, to: deployment, requestID: "req_aof_\(index)") { ids.append(id) }
            }
            #expect(ids.count == 10)
            deployment.redis.kill()
            try await Task.sleep(for: .seconds(2))
            try await deployment.redis.start()
            let jobs = try await finalJobs(ids, in: deployment, timeout: .seconds(180))
            expectEveryJobSettled(jobs, ids: ids)
            #expect(ids.allSatisfy { jobs[$0]?["status"] as? String == "completed" }, "a Redis restart with AOF fails no job")
            for role in Self.roles {
                #expect(deployment.services[role.name]?.isRunning == true, "\(role.name) survived the Redis restart")
            }
        }

        /// The gateway process with 200 idle connections open still answers `/health` and takes a
        /// job; the idle ones are closed after the idle timeout, the half that began a WebSocket
        /// upgrade and never finished its headers without an error line each.
        @Test func theGatewayProcessAnswersWhile200IdleConnectionsAreOpen() async throws {
            let deployment = try await Deployment(extraEnvironment: ["DALSTON_HTTP_IDLE_TIMEOUT": "3"])
            defer { deployment.stop() }
            let idle = try (0..<200).map { index in
                let connection = try RawConnection(port: deployment.gatewayPort)
                if index.isMultiple(of: 2) {
                    _ = connection.send("GET /v1/audio/transcriptions/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
                }
                return connection
            }
            for _ in 0..<5 {
                let probe = try RawConnection(port: deployment.gatewayPort)
                probe.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let answer = await probe.receive(timeout: .seconds(10))
                #expect(answer.text.hasPrefix("HTTP/1.1 200"), "\(answer.text.prefix(200))")
            }
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world"))
            let created = try await deployment.client.upload(speech)
            #expect(created.status == 201)
            let closed = await idle[0].receive(timeout: .seconds(15))
            #expect(closed.closed, "idle connections are closed after DALSTON_HTTP_IDLE_TIMEOUT")
            #expect(await idle[1].receive(timeout: .seconds(15)).closed)
            try await Task.sleep(for: .seconds(1))
            // Abandoned upgrades are the client's doing: no error line (there were 100, one each).
            let errors = deployment.services["gateway"]?.logLines().filter { $0["level"] as? String == "error" } ?? []
            #expect(errors.isEmpty, "\(errors.prefix(3))")
        }

        /// The gateway process on a data directory that fills up: 507 with no path in the answer,
        /// `/ready` says storage is full, and the service recovers once space is free.
        @Test(.enabled(if: SmallFilesystem.shouldRun, "needs root to mount a small tmpfs (CI runs as root)"))
        func aFullDataDirectoryGives507AndRecovers() async throws {
            let disk = try await SmallFilesystem(kilobytes: 1024)
            let deployment = try await Deployment(extraEnvironment: ["DALSTON_DATA_DIR": disk.directory.appendingPathComponent("data").path])
            defer { deployment.stop() }
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world"))
            disk.fill()
            let refused = try await deployment.client.upload(speech)
            #expect(refused.status == 507, "\(refused.json)")
            #expect(!("\(refused.json)".contains(disk.directory.path)), "no server path in \(refused.json)")
            #expect(try await deployment.client.request("GET", "ready").json["storage"] as? String == "full")
            try FileManager.default.removeItem(at: disk.directory.appendingPathComponent("filler"))
            let accepted = try await deployment.client.upload(speech)
            #expect(accepted.status == 201, "\(accepted.json)")
            let id = try #require(accepted.json["id"] as? String)
            #expect(try await deployment.client.waitForJob(id)["status"] as? String == "completed")
        }

        /// Engines started without METRICS_PORT each take a free port and advertise it in their
        /// heartbeat; a METRICS_PORT that is taken stops the process with exit 78 and a message.
        @Test func enginesOnOneHostWithoutMetricsPortsAllStartAndAdvertiseTheirPorts() async throws {
            let deployment = try await Deployment()
            defer { deployment.stop() }
            try deployment.start("merge", ["engine", "merge"], as: "merge-auto-1", metricsPort: .some(nil))
            try deployment.start("merge", ["engine", "merge"], as: "merge-auto-2", metricsPort: .some(nil))
            var endpoints: [String] = []
            let advertised = await eventually(timeout: .seconds(30)) {
                let workers = (try? await deployment.client.request("GET", "v1/status").json["workers"]) as? [[String: Any]] ?? []
                endpoints = workers.compactMap { $0["metrics_endpoint"] as? String }
                return Set(endpoints).count >= 5  // orchestrator excluded: 3 engines with ports, 2 without
            }
            #expect(advertised, "advertised: \(endpoints)")
            #expect(Set(endpoints).count == endpoints.count, "no two workers share a port: \(endpoints)")
            for endpoint in endpoints {
                let (data, response) = try await URLSession.shared.data(from: URL(string: "http://\(endpoint)/metrics")!)
                #expect((response as? HTTPURLResponse)?.statusCode == 200)
                #expect(String(decoding: data, as: UTF8.self).contains("dalston_engine_tasks_processed_total"))
            }
            for name in ["merge-auto-1", "merge-auto-2"] { #expect(deployment.services[name]?.isRunning == true, "\(name) is running") }

            let taken = try #require(deployment.metricsPorts["merge"])
            try deployment.start("merge", ["engine", "merge"], as: "merge-clash", metricsPort: .some(taken))
            let clash = try #require(deployment.services["merge-clash"])
            #expect(await clash.exitStatus() == 78)
            #expect(clash.rawLines().contains { $0.contains("METRICS_PORT=\(taken) is already in use") }, "\(clash.rawLines().suffix(3))")
        }
    }
}
