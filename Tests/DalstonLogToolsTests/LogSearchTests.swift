@testable import DalstonLogTools
import DalstonTestSupport
import Foundation
import Testing

@Suite("dalston logs: search, links, timeline")
struct LogSearchTests {
    private func file(_ name: String, _ lines: [String], gzip: Bool = false) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-logs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        guard gzip else { return path }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-f", path]
        try process.run()
        ChildExit.waitBlocking(process)
        return path + ".gz"
    }

    private func line(_ time: String, _ service: String, _ event: String, _ fields: [String: String]) -> String {
        var object: [String: Any] = ["timestamp": "2026-12-01T10:00:\(time)Z", "level": "info", "service": service, "logger": "dalston.\(service)", "event": event]
        for (key, value) in fields { object[key] = value }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The gateway knows the request and the job; the orchestrator writes the job; the engine
    /// writes only task ids, and its clock is skewed against the others' file order.
    private func logs() throws -> [String] {
        let gateway = try file("gateway.log", [
            line("00.100000", "gateway", "http_request", ["request_id": "req_A"]),
            line("00.200000", "gateway", "job_created", ["request_id": "req_A", "job_id": "job_1"]),
            line("00.250000", "gateway", "job_created", ["request_id": "req_B", "job_id": "job_2"]),
            "a plain text banner, not JSON",
            #"{"timestamp": "2026-12-01T10:00:00.3Z", "event": "cut short"#,
        ])
        let orchestrator = try file("orchestrator.log", [
            line("00.300000", "orchestrator", "task_scheduled", ["job_id": "job_1", "task_id": "task_1a"]),
            line("00.310000", "orchestrator", "task_scheduled", ["job_id": "job_2", "task_id": "task_2a"]),
            line("02.000000", "orchestrator", "job_completed", ["job_id": "job_1"]),
        ])
        // Earlier in the file than the orchestrator's link, later in time: found by the second pass.
        let engine = try file("engine.log.1", [
            line("01.500000", "engine", "task_completed", ["task_id": "task_1a", "duration_seconds": "1.0"]),
            line("00.400000", "engine", "task_started", ["task_id": "task_1a"]),
            line("01.000000", "engine", "task_started", ["task_id": "task_2a"]),
        ], gzip: true)
        return [engine, gateway, orchestrator]
    }

    @Test func aRequestsLinesFromEveryFileInTimeOrderFollowingJobAndTaskIDs() throws {
        let result = try LogSearch(inputs: try logs(), identifiers: [.request: ["req_A"]]).run()
        #expect(result.entries.map { TimelineRenderer.object($0.raw)["event"] as? String ?? "" } == [
            "http_request", "job_created", "task_scheduled", "task_started", "task_completed", "job_completed",
        ])
        #expect(result.identifiers[.job] == ["job_1"] && result.identifiers[.task] == ["task_1a"])
        #expect(!result.entries.contains { $0.raw.contains("req_B") || $0.raw.contains("job_2") || $0.raw.contains("task_2a") }, "nothing of another request")
        #expect(result.nonJSONLines == 1 && result.malformedLines == 1, "\(result.nonJSONLines) \(result.malformedLines)")
        #expect(result.passes == 2)
    }

    @Test func theTimelineIsReadableAndValuesCannotForgeLines() throws {
        let path = try file("x.log", [
            line("00.000000", "gateway", "job_created", ["request_id": "req_X", "job_id": "job_9", "filename": "evil\n+ 0.000s forged"]),
            line("01.250000", "orchestrator", "job_failed", ["request_id": "req_X", "job_id": "job_9"]),
        ])
        let result = try LogSearch(inputs: [path], identifiers: [.job: ["job_9"]]).run()
        var lines: [String] = []
        TimelineRenderer(colors: false).render(result.entries) { lines.append($0) }
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[0].hasPrefix("request req_X · job job_9 · 2 lines"))
        #expect(lines[1].contains("+0.000s") && lines[1].contains("job_created") && lines[1].contains("evil\\u{a}+ 0.000s forged"))
        #expect(lines[2].contains("+1.250s") && lines[2].contains("orchestrator") && lines[2].contains("job_failed"))
    }

    @Test func theSummaryGivesStagesTheSlowestStepAndErrors() throws {
        var failed = line("03.000000", "orchestrator", "job_failed", ["request_id": "req_S", "job_id": "job_S"])
        failed = failed.replacingOccurrences(of: #""level":"info""#, with: #""level":"error","error":{"message":"decoder gave up","type":"E"}"#)
        let path = try file("s.log", [
            line("00.000000", "gateway", "job_created", ["request_id": "req_S", "job_id": "job_S"]),
            line("00.100000", "engine", "task_started", ["request_id": "req_S", "job_id": "job_S", "stage": "prepare"]),
            line("00.300000", "engine", "task_completed", ["request_id": "req_S", "job_id": "job_S", "stage": "prepare"]),
            line("00.400000", "engine", "task_started", ["request_id": "req_S", "job_id": "job_S", "stage": "transcribe"]),
            line("02.400000", "engine", "task_completed", ["request_id": "req_S", "job_id": "job_S", "stage": "transcribe"]),
            failed,
        ])
        let summary = RequestSummary.summaries(try LogSearch(inputs: [path], identifiers: [.request: ["req_S"]]).run().entries)
        #expect(summary.count == 1)
        let text = summary[0].text
        #expect(text.contains("6 lines over 3.000 s"), "\(text)")
        #expect(text.contains("stage prepare (job_S): 0.200 s") && text.contains("stage transcribe (job_S): 2.000 s"), "\(text)")
        #expect(text.contains("slowest step: transcribe"))
        #expect(text.contains("orchestrator job_failed: decoder gave up"), "\(text)")
    }

    @Test func aLineTooLongOrNotJSONNeverStopsTheSearch() throws {
        let long = "{\"request_id\": \"req_L\", \"blob\": \"" + String(repeating: "x", count: 5 * 1024 * 1024) + "\"}"
        let path = try file("long.log", [long, "\u{0}\u{1}binary", line("00.000000", "gateway", "ok", ["request_id": "req_L"])])
        let result = try LogSearch(inputs: [path], identifiers: [.request: ["req_L"]]).run()
        #expect(result.entries.count == 1 && result.malformedLines == 1)
    }

    @Test func scannerReadsTopLevelStringsOnly() {
        let scanner = FieldScanner(keys: ["request_id", "job_id"])
        var found = [Range<Int>?](repeating: nil, count: 2)
        for (text, outcome, request) in [
            (#"{"nested": {"request_id": "no"}, "request_id": "yes", "n": 1.5, "b": [1, {"x": "]"}]}"#, FieldScanner.Outcome.object, "yes"),
            (#"{"request_id": "a\"b"}"#, .object, #"a\"b"#),
            (#"{"request_id": 42}"#, .object, nil),
            (#"{"request_id": "x""#, .malformed, nil),
            ("not json", .notJSON, nil),
            (#"{"a":1} trailing"#, .malformed, nil),
        ] as [(String, FieldScanner.Outcome, String?)] {
            let bytes = Array(text.utf8)
            let got = bytes.withUnsafeBytes { scanner.scan($0, found: &found) }
            #expect(got == outcome, "\(text)")
            if got == .object {
                #expect(found[0].map { String(decoding: bytes[$0], as: UTF8.self) } == request, "\(text)")
            }
        }
    }
}

@Suite("dalston logs --follow")
struct LogFollowTests {
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        private var stopped = false
        private var started = false
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        func markStarted() { lock.withLock { started = true } }
        var isStarted: Bool { lock.withLock { started } }
        var all: [String] { lock.withLock { lines } }
        func stop() { lock.withLock { stopped = true } }
        var isStopped: Bool { lock.withLock { stopped } }
    }

    private func append(_ text: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// New lines of the followed request appear as they are written, links are followed as they
    /// appear, a line written in two pieces is read whole, and a rotated file is read anew.
    @Test func newMatchingLinesAppearAsTheyAreWrittenAcrossARotation() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-follow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("svc.log").path
        try Data(#"{"request_id":"req_F","event":"before_start"}"#.utf8 + [0x0A]).write(to: URL(fileURLWithPath: path))
        let collected = Collected()
        // The follower polls with sleeps: it runs on a thread of its own, never on the
        // concurrency pool the other tests share.
        let running = Task {
            await onThread {
                guard let follower = try? LogFollower(paths: [path], identifiers: [.request: ["req_F"]]) else { return false }
                collected.markStarted()
                return (try? follower.run(interval: .milliseconds(50), shouldStop: { collected.isStopped }) { collected.add($0) }) != nil
            }
        }
        #expect(await waitFor { collected.isStarted })
        try append(#"{"request_id":"req_F","job_id":"job_F","event":"one"}"# + "\n", to: path)
        try append(#"{"request_id":"req_other","event":"not_ours"}"# + "\n", to: path)
        try append(#"{"job_id":"job_F","event":"tw"#, to: path)
        try await Task.sleep(for: .milliseconds(200))
        try append(#"o"}"# + "\n", to: path)
        #expect(await waitFor { collected.all.count == 2 })
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        try Data((#"{"job_id":"job_F","event":"three"}"# + "\n").utf8).write(to: URL(fileURLWithPath: path))
        #expect(await waitFor { collected.all.count == 3 })
        collected.stop()
        #expect(await running.value)
        #expect(collected.all.map { ($0 as NSString).range(of: "event").location != NSNotFound } == [true, true, true])
        #expect(collected.all[0].contains("\"one\"") && collected.all[1].contains("\"two\"") && collected.all[2].contains("\"three\""), "\(collected.all)")
    }

    private func waitFor(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<100 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
