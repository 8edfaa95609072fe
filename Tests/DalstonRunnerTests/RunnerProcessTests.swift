import DalstonBroker
@testable import DalstonEngineSDK
import DalstonMetrics
import DalstonTestSupport
import Foundation
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The supervision of a runner process, against small Python runners that follow the protocol
/// or break it on purpose (docs/runners.md): ready, replies, errors, death, cancellation, a start
/// that fails or never ends, and the relay of their log lines.
@Suite("Runner processes", .serialized)
struct RunnerProcessTests {
    /// A runner in Python: `body` runs after the `ready` line, once per request (`request` bound).
    static func runner(ready: String = #"{"type":"ready","load_seconds":0.01}"#, before: String = "", body: String) -> RunnerCommand {
        let script = """
            import json, os, sys, time
            \(before)
            print(\(pythonString(ready)), flush=True)
            for line in sys.stdin:
                request = json.loads(line)
            \(body.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """
        return RunnerCommand(executable: "/usr/bin/env", arguments: ["python3", "-c", script], environment: ProcessInfo.processInfo.environment,
                             startTimeout: .seconds(30))
    }

    static func pythonString(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    struct Echo: Codable, Equatable {
        var type = "echo"
        var id: String
        var text: String
    }

    struct Reply: Decodable {
        let text: String
    }

    static let echo = #"print(json.dumps({"type": "result", "id": request["id"], "text": request["text"].upper()}), flush=True)"#

    @Test func aRequestGetsItsReplyAndTheReadyMessageIsKept() async throws {
        let process = try await RunnerProcess.start(Self.runner(body: Self.echo), logger: Logger(label: "test"))
        defer { process.kill() }
        #expect(process.ready["load_seconds"] == .number(0.01))
        // A value with a newline and quotes stays one line of the protocol.
        let reply = try await process.call(Echo(id: "t1", text: "hello\n\"world\""), replying: Reply.self)
        #expect(reply.text == "HELLO\n\"WORLD\"")
        let second = try await process.call(Echo(id: "t2", text: "again"), replying: Reply.self)
        #expect(second.text == "AGAIN" && process.isRunning)
    }

    @Test func anErrorReplyKeepsItsMessageAndWhetherToRetry() async throws {
        let body = #"print(json.dumps({"type": "error", "id": request["id"], "permanent": request["text"] == "bad", "message": "no: " + request["text"]}), flush=True)"#
        let process = try await RunnerProcess.start(Self.runner(body: body), logger: Logger(label: "test"))
        defer { process.kill() }
        await #expect {
            _ = try await process.call(Echo(id: "t1", text: "bad"), replying: Reply.self)
        } throws: { error in
            guard case .requestFailed(let message, let permanent) = error as? RunnerError else { return false }
            return message == "no: bad" && permanent
        }
        await #expect {
            _ = try await process.call(Echo(id: "t2", text: "busy"), replying: Reply.self)
        } throws: { error in
            guard case .requestFailed(_, let permanent) = error as? RunnerError else { return false }
            return !permanent
        }
        #expect(process.isRunning, "an error reply leaves the runner running")
    }

    @Test func aRunnerThatDiesDuringARequestIsReportedWithItsLastOutput() async throws {
        let body = #"sys.stderr.write("segmentation fault in the decoder\n"); sys.stderr.flush(); os._exit(139)"#
        let process = try await RunnerProcess.start(Self.runner(body: body), logger: Logger(label: "test"))
        await #expect {
            _ = try await process.call(Echo(id: "t1", text: "x"), replying: Reply.self)
        } throws: { error in
            guard case .died(let reason) = error as? RunnerError else { return false }
            return reason.contains("exit status 139") && reason.contains("segmentation fault in the decoder")
        }
        #expect(!process.isRunning)
        await #expect {
            _ = try await process.call(Echo(id: "t2", text: "x"), replying: Reply.self)
        } throws: { error in
            if case .died = error as? RunnerError { return true }
            return false
        }
    }

    @Test func cancellingARequestKillsTheRunnerAtOnce() async throws {
        let process = try await RunnerProcess.start(Self.runner(body: "time.sleep(60)"), logger: Logger(label: "test"))
        let call = Task { try await process.call(Echo(id: "t1", text: "x"), replying: Reply.self) }
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = ContinuousClock.now
        call.cancel()
        let result = await call.result
        #expect(ContinuousClock.now - cancelled < .seconds(5), "the call ended \(ContinuousClock.now - cancelled) after its cancellation")
        guard case .failure(let error) = result, case .cancelled = error as? RunnerError else {
            Issue.record("expected cancelled, got \(result)")
            return
        }
        let gone = await eventually(timeout: .seconds(5)) { Glibc.kill(process.pid, 0) != 0 }
        #expect(gone, "the runner process is still alive")
        #expect(!process.isRunning)
    }

    @Test func aStartThatFailsSaysWhy() async throws {
        await #expect {
            _ = try await RunnerProcess.start(Self.runner(ready: #"{"type":"fatal","message":"cannot load model m: out of memory"}"#, body: ""), logger: Logger(label: "test"))
        } throws: { error in
            guard case .failedToStart(let reason) = error as? RunnerError else { return false }
            return reason == "cannot load model m: out of memory"
        }
        await #expect {
            _ = try await RunnerProcess.start(Self.runner(before: #"sys.stderr.write("ModuleNotFoundError: faster_whisper\n"); sys.exit(2)"#, body: ""), logger: Logger(label: "test"))
        } throws: { error in
            guard case .failedToStart(let reason) = error as? RunnerError else { return false }
            return reason.contains("exit status 2") && reason.contains("ModuleNotFoundError: faster_whisper")
        }
        await #expect {
            _ = try await RunnerProcess.start(
                RunnerCommand(executable: "/nonexistent/python3", arguments: [], environment: [:]), logger: Logger(label: "test"))
        } throws: { error in
            guard case .failedToStart(let reason) = error as? RunnerError else { return false }
            return reason.contains("/nonexistent/python3") && reason.contains("setup.sh")
        }
    }

    @Test func aRunnerThatNeverGetsReadyIsStoppedAfterTheStartTimeout() async throws {
        var command = Self.runner(before: "time.sleep(60)", body: "")
        command.startTimeout = .milliseconds(500)
        let started = ContinuousClock.now
        await #expect {
            _ = try await RunnerProcess.start(command, logger: Logger(label: "test"))
        } throws: { error in
            guard case .failedToStart(let reason) = error as? RunnerError else { return false }
            return reason.contains("did not load within")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aReplyThatIsNotTheProtocolIsAViolation() async throws {
        let process = try await RunnerProcess.start(Self.runner(body: #"print("Loading weights... 50%", flush=True)"#), logger: Logger(label: "test"))
        defer { process.kill() }
        await #expect {
            _ = try await process.call(Echo(id: "t1", text: "x"), replying: Reply.self)
        } throws: { error in
            if case .protocolViolation = error as? RunnerError { return true }
            return false
        }
    }

    /// The runner's stderr reaches the engine's logger: its JSON lines keep their level, event
    /// and fields (as values, which the log output escapes), anything else is `runner_output`.
    @Test func theRunnersLogLinesAreRelayedAsStructuredRecords() async throws {
        let recorder = RecordingLogHandler.Store()
        let logger = Logger(label: "dalston.engine.test") { _ in RecordingLogHandler(store: recorder) }
        let lines = [
            #"sys.stderr.write(json.dumps({"level": "warning", "event": "inference_slow", "request_id": "req_1", "audio_seconds": 3.5, "vad": True, "segments": 4}) + "\n")"#,
            #"sys.stderr.write(json.dumps({"level": "info", "event": "forged", "note": "x\n{\"event\":\"fake\"}", "service": "not-me"}) + "\n")"#,
            #"sys.stderr.write("Traceback (most recent call last):\n")"#,
            "sys.stderr.flush()",
        ]
        let process = try await RunnerProcess.start(Self.runner(body: (lines + [Self.echo]).joined(separator: "\n")), logger: logger)
        defer { process.kill() }
        _ = try await process.call(Echo(id: "t1", text: "x"), replying: Reply.self)
        let arrived = await eventually(timeout: .seconds(5)) { recorder.records.count >= 3 }
        #expect(arrived, "\(recorder.records)")
        let records = recorder.records
        let slow = try #require(records.first { $0.message == "inference_slow" })
        #expect(slow.level == .warning)
        #expect(slow.metadata["request_id"] == "req_1")
        #expect(slow.metadata["audio_seconds"].map { "\($0)" } == "3.5" && slow.metadata["segments"].map { "\($0)" } == "4")
        #expect(slow.metadata["vad"].map { "\($0)" } == "true")
        #expect(slow.metadata["runner_pid"].map { "\($0)" } == "\(process.pid)")
        let forged = try #require(records.first { $0.message == "forged" })
        #expect(forged.metadata["note"].map { "\($0)" } == "x\n{\"event\":\"fake\"}", "a value stays a value")
        #expect(forged.metadata["service"] == nil, "the engine's own fields are not overridden")
        #expect(!records.contains { $0.message == "fake" })
        let output = try #require(records.first { $0.message == "runner_output" })
        #expect(output.metadata["line"].map { "\($0)" } == "Traceback (most recent call last):")
    }

    @Test func aRunnerInheritsWhatLocatesItsFilesAndNoneOfTheEnginesSecrets() {
        let inherited = RunnerCommand.environment(from: [
            "PATH": "/usr/bin", "HOME": "/home/d", "HF_ENDPOINT": "http://hub", "LC_ALL": "C.UTF-8", "DALSTON_MODELS_DIR": "/models",
            "PYTHONPATH": "/x", "OMP_NUM_THREADS": "1", "DALSTON_API_KEYS": "secret", "DATABASE_URL": "postgres://u:p@h/d",
            "REDIS_URL": "redis://:p@h", "AWS_SECRET_ACCESS_KEY": "k", "DALSTON_WEBHOOK_SECRET": "w",
        ])
        #expect(Set(inherited.keys) == ["PATH", "HOME", "HF_ENDPOINT", "LC_ALL", "DALSTON_MODELS_DIR", "PYTHONPATH", "OMP_NUM_THREADS"])
    }

    @Test func thePoolKeepsOneRunnerPerModelWithinItsCapacity() async throws {
        let starts = Mutex<[String]>([])
        let pool = RunnerPool(runnerName: "echo", capacity: 1, logger: Logger(label: "test")) { model in
            starts.withLock { $0.append(model) }
            return Self.runner(body: Self.echo)
        }
        let first = try await pool.runner(for: "a", metrics: .disabled)
        let again = try await pool.runner(for: "a", metrics: .disabled)
        #expect(first === again, "a loaded model's runner is reused")
        let other = try await pool.runner(for: "b", metrics: .disabled)
        #expect(other !== first)
        let firstGone = await eventually(timeout: .seconds(5)) { !first.isRunning }
        #expect(firstGone, "loading b beyond a capacity of 1 stopped a")
        await pool.discard("b", process: other, reason: "crashed", metrics: .disabled)
        let restarted = try await pool.runner(for: "b", metrics: .disabled)
        #expect(restarted !== other && restarted.isRunning)
        #expect(starts.withLock { $0 } == ["a", "b", "b"])
        await pool.shutdown()
        let allGone = await eventually(timeout: .seconds(5)) { !restarted.isRunning }
        #expect(allGone)
    }
}

/// Keeps every record a logger was given.
struct RecordingLogHandler: LogHandler {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }

    final class Store: Sendable {
        private let storage = Mutex<[Record]>([])
        var records: [Record] { storage.withLock { $0 } }
        func append(_ record: Record) { storage.withLock { $0.append(record) } }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        store.append(Record(level: level, message: "\(message)", metadata: metadata.merging(extra ?? [:]) { $1 }))
    }
}
