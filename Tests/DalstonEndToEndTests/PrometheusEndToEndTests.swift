import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The services as separate processes on Redis, scraped by a real Prometheus that also runs
/// the alert and recording rules of `deploy/`.
extension EndToEnd {
    @Suite("End to end: Prometheus scrapes every service",
           .enabled(if: RedisServerProcess.shouldRun && TestSpeech.shouldRun && PrometheusServer.shouldRun,
                    "needs redis-server, festival, PocketSphinx and prometheus (installed by .ci/run)"),
           .serialized)
    struct PrometheusEndToEndTests {
        @Test func jobCountersTaskHistogramsAndQueueDepthReachPrometheusAndEveryDashboardQueryAnswers() async throws {
            let deployment = try await Deployment(realtime: true)
            defer { deployment.stop() }

            // Each process's real exposition passes promtool's lint.
            let promtool = try #require(PrometheusServer.promtool)
            for (name, target) in deployment.metricsTargets.sorted(by: { $0.key < $1.key }) {
                var body = Data()
                let fetched = await eventually(timeout: .seconds(30)) {
                    guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://\(target)/metrics")!) else { return false }
                    body = data
                    return true
                }
                #expect(fetched, "\(name) serves /metrics at \(target)")
                let lint = try await runProcess(promtool, arguments: ["check", "metrics"], input: body)
                #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "\(name): \(lint.stdout) \(lint.stderr)")
                #expect(String(decoding: body, as: UTF8.self).contains("process_resident_memory_bytes{service="))
            }

            let ruleFiles = try FileManager.default.contentsOfDirectory(at: repositoryRoot.appendingPathComponent("deploy/prometheus/rules"), includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "yml" }
            let prometheus = try await PrometheusServer(targets: deployment.metricsTargets, ruleFiles: ruleFiles, directory: deployment.logDirectory)
            defer { prometheus.stop() }

            // Job 1 completes.
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world, this is a test of the transcription system"))
            let good = try #require(try await deployment.client.upload(speech, requestID: "req_prom_good").json["id"] as? String)
            #expect(try await deployment.client.waitForJob(good)["status"] as? String == "completed")

            // Job 2 waits in the audio-prepare queue while that engine is down (the queue-depth gauge
            // shows it), and its stored audio is lost meanwhile: it fails with a permanent error.
            try await #require(deployment.services["audio-prepare"]).terminateAndWait()
            let bad = try #require(try await deployment.client.upload(speech, requestID: "req_prom_bad").json["id"] as? String)
            let sawBacklog = await eventually(timeout: .seconds(30)) {
                await prometheus.value(#"dalston_queue_depth{engine_id="audio-prepare"}"#) == 1
            }
            #expect(sawBacklog, "Prometheus saw the waiting task in dalston_queue_depth")
            let jobDirectory = deployment.logDirectory.appendingPathComponent("data/jobs/\(bad)")
            for file in try FileManager.default.contentsOfDirectory(at: jobDirectory, includingPropertiesForKeys: nil) {
                try FileManager.default.removeItem(at: file)
            }
            try deployment.start("audio-prepare", ["engine", "audio-prepare"], as: "audio-prepare-restarted")
            let failed = try await deployment.client.waitForJob(bad)
            #expect(failed["status"] as? String == "failed", "\(failed)")

            // Prometheus picks the new values up with its next scrapes (1 s).
            let counted = await eventually(timeout: .seconds(30)) {
                let completed = await prometheus.value(#"sum(dalston_orchestrator_jobs_total{status="completed"})"#)
                let failed = await prometheus.value(#"sum(dalston_orchestrator_jobs_total{status="failed"})"#)
                let backlog = await prometheus.value(#"sum(dalston_queue_depth{engine_id="audio-prepare"})"#)
                // The restarted engine is a new target: its first scrape may come after the
                // orchestrator's counters are in (CI saw it missing once).
                let prepareFailed = await prometheus.value(#"sum(dalston_engine_tasks_processed_total{engine_id="audio-prepare",status="failed"})"#)
                return completed == 1 && failed == 1 && backlog == 0 && prepareFailed == 1
            }
            #expect(counted, "job counters: completed 1, failed 1; the backlog drained; the restarted engine counted its failure")
            #expect(await prometheus.value(#"sum(dalston_gateway_jobs_created_total{api="native"})"#) == 2)
            #expect(await prometheus.value(#"sum(dalston_engine_task_duration_seconds_count{engine_id="transcribe"})"#) == 1)
            #expect(await prometheus.value(#"sum(dalston_engine_task_duration_seconds_bucket{engine_id="transcribe",le="+Inf"})"#) == 1)
            #expect(await prometheus.value(#"sum(dalston_engine_task_duration_seconds_bucket{engine_id="transcribe",le="0.05"})"#) == 0,
                    "recognising real speech takes longer than 50 ms")
            #expect(await prometheus.value(#"dalston_engine_workers_alive{engine_id="transcribe"}"#) == 1)
            #expect(await prometheus.value(#"count(up == 1)"#) == 6, "every process is scraped (the stopped audio-prepare's replacement too)")

            // A live session, streamed by `dalston listen`, fills the realtime rows.
            let listen = try await runProcess(DalstonBinary.url, arguments: [
                "listen", TestSpeech.wav(saying: "hello world, this is a test of the transcription system").path,
                "--url", "ws://127.0.0.1:\(deployment.gatewayPort)", "--speed", "4",
            ])
            #expect(listen.status == 0 && listen.stdout.contains("hello world"), "dalston listen: \(listen.stdout) \(listen.stderr)")
            let sessionCounted = await eventually(timeout: .seconds(30)) {
                let completed = await prometheus.value(#"sum(dalston_session_router_sessions_total{status="completed"})"#)
                let finals = await prometheus.value(#"sum(dalston_realtime_transcripts_total{type="final"})"#) ?? 0
                return completed == 1 && finals >= 1
            }
            #expect(sessionCounted, "the session and its final reached Prometheus")

            // Every expression of the dashboards and recording rules parses and returns data. (An
            // alert's expression returns data only while it fires: alerts are checked below.)
            let script = repositoryRoot.appendingPathComponent("Tests/Scripts/dashboard_expressions.py")
            let command = TestTools.pythonCommand([script.path, "--without-alerts", "--root", repositoryRoot.path])
            let listed = try await runProcess(command.executable, arguments: command.arguments)
            #expect(listed.status == 0, "\(listed.stderr)")
            let expressions = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String])
            #expect(expressions.count >= 20, "dashboards and rules hold \(expressions.count) expressions")
            // rate() needs two samples in its window: ask until every expression has data (or 30 s).
            var failures: [String] = []
            _ = await eventually(timeout: .seconds(30)) {
                failures = []
                for expression in expressions {
                    do {
                        if try await prometheus.query(expression).isEmpty { failures.append("no data: \(expression)") }
                    } catch {
                        failures.append("rejected: \(error)")
                    }
                }
                return failures.isEmpty
            }
            #expect(failures.isEmpty, "\(failures.count) of \(expressions.count) expressions: \(failures.joined(separator: "\n"))")

            // Every rule loaded and evaluates without error against the live series.
            let rules = try await prometheus.rules()
            #expect(rules.count >= 10, "\(rules.count) rules loaded")
            for rule in rules {
                #expect(rule.health == "ok", "\(rule.name): \(rule.health) \(rule.lastError)")
            }
            let firing = rules.filter { $0.type == "alerting" && $0.state == "firing" }.map(\.name)
            #expect(firing.isEmpty, "a healthy deployment fires no alert: \(firing)")
        }
    }
}
