import DalstonBroker
import DalstonRedis
import DalstonTestSupport
import Foundation
import Testing

/// Gateway, orchestrator and engines as separate processes on Redis, exporting spans over
/// OTLP/HTTP to a real receiver: one job is one trace, one tree, across every process.
extension EndToEnd {
    @Suite("End to end: one trace per job across processes",
           .enabled("needs redis-server, festival, PocketSphinx and Python's opentelemetry-proto (installed by `make test`)") {
               guard RedisServerProcess.shouldRun, TestSpeech.shouldRun else { return false }
               return await OTLPReceiver.shouldRun()
           },
           .serialized)
    struct TracingEndToEndTests {
        /// The five services, exporting their spans to `receiver` in batches every so often.
        static func deployment(
            exportingTo receiver: OTLPReceiver, everyMilliseconds interval: Int, settings: [String: String] = [:]
        ) async throws -> Deployment {
            try await Deployment(extraEnvironment: [
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "\(interval)",
            ].merging(settings) { $1 })
        }

        /// The default export (protobuf), and OTLP/JSON compressed with gzip with a header: the
        /// receiver decodes each with the reference `opentelemetry-proto` classes.
        @Test(arguments: [
            [:],
            ["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_HEADERS": "x-dalston-test=1"],
        ])
        func aJobIsOneTraceRootedAtItsHTTPRequestAndLogsCarryItsIDs(exportSettings: [String: String]) async throws {
            let receiver = try await OTLPReceiver.started()
            defer { receiver.stop() }
            let deployment = try await Self.deployment(exportingTo: receiver, everyMilliseconds: 200, settings: exportSettings)
            defer { deployment.stop() }

            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world, this is a test of the transcription system"))
            let requestID = "req_trace_\(UUID().uuidString.prefix(8).lowercased())"
            let started = ContinuousClock.now
            let created = try await deployment.client.upload(speech, requestID: requestID)
            #expect(created.status == 201)
            let traceID = try #require(created.headers["x-trace-id"])
            #expect(created.headers["traceparent"]?.contains(traceID) == true, "the response carries the server span's traceparent")
            let id = try #require(created.json["id"] as? String)
            #expect(try await deployment.client.waitForJob(id)["status"] as? String == "completed")
            let tracedDuration = ContinuousClock.now - started

            // Each process exports on its own schedule: wait until the whole tree has arrived.
            let complete = await eventually(timeout: .seconds(30)) {
                let spans = receiver.spans().filter { $0.traceID == traceID }
                let ids = Set(spans.map(\.spanID))
                return spans.contains { $0.name == "orchestrator.mark_job_completed" }
                    && spans.filter { $0.name.hasSuffix(".process") }.count == 3
                    && spans.allSatisfy { $0.parentSpanID.isEmpty || ids.contains($0.parentSpanID) }
            }
            #expect(complete, "the trace arrived whole within 30 s")
            let trace = receiver.spans().filter { $0.traceID == traceID }
            let byID = Dictionary(trace.map { ($0.spanID, $0) }, uniquingKeysWith: { first, _ in first })

            // One tree rooted at the HTTP server span.
            let roots = trace.filter { $0.parentSpanID.isEmpty }
            #expect(roots.map(\.name) == ["POST /v1/audio/transcriptions"], "\(roots.map(\.name))")
            let root = try #require(roots.first)
            #expect(root.kind == "SPAN_KIND_SERVER")
            #expect(root.attribute("http.request.method") == "POST" && root.attribute("http.route") == "/v1/audio/transcriptions")
            #expect(root.attribute("http.response.status_code") == "201" && root.attribute("dalston.request_id") == requestID)
            let orphans = trace.filter { !$0.parentSpanID.isEmpty && byID[$0.parentSpanID] == nil }
            #expect(orphans.isEmpty, "spans whose parent is not in the trace: \(orphans.map(\.name))")
            #expect(Set(trace.map(\.serviceName)) == ["dalston-gateway", "dalston-orchestrator", "dalston-engine"])

            // The hops: gateway → pub/sub → orchestrator → queue → engine → pub/sub → orchestrator.
            func named(_ name: String) -> [OTLPReceiver.Span] { trace.filter { $0.name == name } }
            for name in ["gateway.store_audio", "gateway.create_job", "gateway.publish_job_created"] {
                #expect(named(name).first?.parentSpanID == root.spanID, "\(name) is a child of the HTTP span")
            }
            let handleJob = try #require(named("orchestrator.handle_job").first)
            #expect(byID[handleJob.parentSpanID]?.name == "gateway.publish_job_created", "the pub/sub hop continues the trace")
            #expect(named("orchestrator.schedule_task").count == 3)
            #expect(named("orchestrator.handle_task_completed").count == 3)
            for engine in ["audio-prepare", "transcribe", "merge"] {
                let wait = try #require(named("engine.\(engine).queue_wait").first, "queue wait of \(engine)")
                let process = try #require(named("engine.\(engine).process").first, "process span of \(engine)")
                #expect(byID[wait.parentSpanID]?.name == "orchestrator.schedule_task")
                #expect(byID[process.parentSpanID]?.name == "orchestrator.schedule_task")
                #expect(wait.attribute("dalston.engine_id") == engine && wait.attribute("dalston.job_id") == id)
                #expect(process.attribute("dalston.engine_id") == engine && process.attribute("dalston.job_id") == id)
                #expect(process.attribute("dalston.task_id")?.hasPrefix(id) == true && process.attribute("dalston.request_id") == requestID)
                #expect(process.attribute("dalston.task.attempt") == "1" && process.status != "STATUS_CODE_ERROR")
                let steps = trace.filter { $0.parentSpanID == process.spanID }.map(\.name)
                #expect(!steps.isEmpty, "\(engine) has child spans for its steps")
            }
            #expect(named("engine.transcribe.recognize").count == 1 && named("engine.audio-prepare.decode").count == 1 && named("engine.merge.assemble").count == 1)

            // Logs ↔ traces: the services' JSON lines about the job carry the exported trace id.
            for (name, service) in deployment.services {
                let lines = service.logLines().filter { $0["job_id"] as? String == id && $0["event"] as? String != "event_received" }
                #expect(!lines.isEmpty, "\(name) logged about the job")
                let withoutTrace = lines.filter { $0["trace_id"] as? String != traceID }
                #expect(withoutTrace.isEmpty, "\(name): lines without the trace id: \(withoutTrace.prefix(2))")
                #expect(lines.allSatisfy { ($0["span_id"] as? String).map { byID[$0] != nil } ?? false }, "\(name): span ids are exported spans")
            }

            // A task whose traceparent is broken still runs, in a new trace, with a warning; its
            // failure is recorded on its span with status ERROR.
            let broker = RedisBroker(client: RedisClient(configuration: deployment.redis.configuration))
            try await broker.enqueue(TaskEnvelope(
                taskID: "task_broken_trace", jobID: "job_broken_trace", engineID: "audio-prepare", stage: "prepare",
                metadata: ["request_id": "req_broken", "traceparent": "00-not-a-trace-context"]))
            await broker.shutdown()
            let brokenFailed = await eventually(timeout: .seconds(30)) {
                receiver.spans().contains { $0.name == "engine.audio-prepare.process" && $0.attribute("dalston.task_id") == "task_broken_trace" }
            }
            #expect(brokenFailed)
            let broken = try #require(receiver.spans().first { $0.attribute("dalston.task_id") == "task_broken_trace" && $0.name.hasSuffix(".process") })
            #expect(broken.parentSpanID.isEmpty, "a new trace")
            #expect(broken.status == "STATUS_CODE_ERROR" && broken.events.contains { $0["name"] as? String == "exception" })
            let prepareLogs = try #require(deployment.services["audio-prepare"]).logLines()
            #expect(prepareLogs.contains { $0["event"] as? String == "trace_context_unusable" && $0["task_id"] as? String == "task_broken_trace" })

            // Collector down: the next job completes in normal time.
            await receiver.stopAndWait()
            let downStarted = ContinuousClock.now
            let second = try await deployment.client.upload(speech, requestID: "req_collector_down")
            let secondID = try #require(second.json["id"] as? String)
            #expect(try await deployment.client.waitForJob(secondID)["status"] as? String == "completed")
            let downDuration = ContinuousClock.now - downStarted
            #expect(downDuration < tracedDuration * 3 + .seconds(5), "collector down: \(downDuration) vs \(tracedDuration) with it up")
            for (name, service) in deployment.services {
                #expect(service.isRunning, "\(name) survived the collector going away")
            }
        }

        @Test func gracefulShutdownFlushesTheSpansStillQueued() async throws {
            let receiver = try await OTLPReceiver.started()
            defer { receiver.stop() }
            // Export only once a minute: whatever arrives before that was flushed at shutdown.
            let deployment = try await Self.deployment(exportingTo: receiver, everyMilliseconds: 60_000)
            defer { deployment.stop() }
            let speech = try await Data(contentsOf: TestSpeech.wav(saying: "hello world, this is a test of the transcription system"))
            let created = try await deployment.client.upload(speech, requestID: "req_flush")
            let traceID = try #require(created.headers["x-trace-id"])
            let id = try #require(created.json["id"] as? String)
            #expect(try await deployment.client.waitForJob(id)["status"] as? String == "completed")
            #expect(receiver.spans().isEmpty, "nothing exported before the interval")

            for service in deployment.services.values { await service.terminateAndWait() }
            let flushed = receiver.spans().filter { $0.traceID == traceID }
            #expect(Set(flushed.map(\.serviceName)) == ["dalston-gateway", "dalston-orchestrator", "dalston-engine"],
                    "every process flushed its spans on SIGTERM: \(Set(flushed.map(\.serviceName)))")
            #expect(flushed.contains { $0.name == "POST /v1/audio/transcriptions" } && flushed.contains { $0.name == "orchestrator.mark_job_completed" })
            #expect(flushed.filter { $0.name.hasSuffix(".process") }.count == 3)
        }
    }
}

/// The receiver the tracing test relies on is itself tested against protobuf, gzip, OTLP/JSON,
/// malformed bodies and Python's own OTLP exporter (Tests/Scripts/test_otlp_receiver.py).
@Suite("OTLP receiver used by the tests", .enabled("needs Python's opentelemetry-proto (installed by .ci/run)") { await OTLPReceiver.shouldRun() })
struct OTLPReceiverScriptTests {
    @Test func theReceiverDecodesRealExportsAndRejectsBadOnes() async throws {
        let script = repositoryRoot.appendingPathComponent("Tests/Scripts/test_otlp_receiver.py")
        var environment = TestTools.scriptEnvironment
        environment["OTLP_RECEIVER_NO_INSTALL"] = "1"
        let command = TestTools.pythonCommand([script.path])
        let result = try await runProcess(command.executable, arguments: command.arguments, environment: environment)
        #expect(result.status == 0, "\(result.stderr.suffix(3000))")
    }
}
