import DalstonCore
import DalstonPipeline
import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Tracing off vs on, side by side: two `dalston up` processes, identical but for
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (the traced one exports every span to the project's OTLP
/// receiver); the gateway's `GET /v1/status` requests/s under `wrk`, then jobs/s through the
/// whole pipeline, alternating between the two.
func runTracingBenchmark() async throws {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dalston")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        print("Tracing: skipped; build `dalston` in the same configuration first: swift build -c release --product dalston")
        return
    }
    guard let wrk = findExecutable(["/usr/bin/wrk", "/usr/local/bin/wrk"]) else {
        print("Tracing: skipped; install wrk (apt-get install wrk)")
        return
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-tracing-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }

    let receiverPort = try freeTCPPort()
    guard await TestTools.pythonCanImport("opentelemetry.proto.collector.trace.v1.trace_service_pb2") else {
        print("Tracing: skipped; the OTLP receiver needs Python's opentelemetry-proto (scripts/setup.sh test installs it in .venv)")
        return
    }
    let receiver = try BenchmarkChild(name: "otlp_receiver.py", executable: URL(fileURLWithPath: TestTools.python), arguments: [
        root.appendingPathComponent("Tests/Scripts/otlp_receiver.py").path, "--port", "\(receiverPort)",
        "--output", directory.appendingPathComponent("spans.jsonl").path, "--no-install",
    ], environment: TestTools.scriptEnvironment.merging(["OTLP_RECEIVER_COUNT_ONLY": "1"]) { $1 })
    var children = [receiver]
    defer { for child in children { child.stop() } }

    func startDalston(traced: Bool) throws -> (url: URL, child: BenchmarkChild) {
        let port = try freeTCPPort()
        var environment = [
            "DALSTON_PORT": "\(port)", "DALSTON_HOST": "127.0.0.1", "LOG_LEVEL": "warning", "LOG_FORMAT": "json",
            "DALSTON_DATA_DIR": directory.appendingPathComponent("data-\(port)").path,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        if traced { environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:\(receiverPort)" }
        let child = try BenchmarkChild(name: traced ? "dalston up (traced)" : "dalston up", executable: binary, arguments: ["up"], environment: environment)
        children.append(child)
        return (URL(string: "http://127.0.0.1:\(port)/")!, child)
    }

    let seconds = BenchmarkSettings.count("BENCH_SECONDS", full: 5, smoke: 1)
    print("Tracing: off vs on (exporting every span over OTLP/HTTP to the project's receiver), two `dalston up` processes")
    var offRates: [Double] = []
    var onRates: [Double] = []
    var ratios: [Double] = []
    // CPU time per request of each side's process (user + system, its export task included):
    // what tracing adds to a request, less disturbed than requests/s by wrk and the other
    // process competing for the same two cores.
    var offCPU: [Double] = []
    var onCPU: [Double] = []
    var cpuRatios: [Double] = []
    // Two identical untraced processes on this machine differ by up to 30 % for minutes at a
    // time (measured side by side), more than the effect measured here: so several fresh pairs,
    // started in alternating order, each measured in rounds of alternating order (off, on;
    // on, off), and the median of every round's ratio.
    let pairs = BenchmarkSettings.count("BENCH_TRACING_PAIRS", full: 6, smoke: 1)
    let roundsPerPair = BenchmarkSettings.count("BENCH_TRACING_ROUNDS", full: 2, smoke: 1)
    var lastPair: (off: URL, on: URL)?
    for pairIndex in 0..<pairs {
        // The previous pair is stopped before the next starts (the last one serves the jobs below).
        for child in children where child.name.hasPrefix("dalston up") { child.stop() }
        children.removeAll { $0.name.hasPrefix("dalston up") }
        var sides: [(url: URL, child: BenchmarkChild)] = []
        if pairIndex % 2 == 0 {
            sides = [try startDalston(traced: false), try startDalston(traced: true)]
        } else {
            let on = try startDalston(traced: true)
            sides = [try startDalston(traced: false), on]
        }
        for side in sides {
            try await waitUntilHealthy(side.url.appendingPathComponent("health"), children: children)
        }
        lastPair = (sides[0].url, sides[1].url)
        let statusURLs = sides.map { $0.url.appendingPathComponent("v1/status").absoluteString }
        // Warm-up, not counted: a fresh process answers its first seconds of requests slower.
        for url in statusURLs { _ = try await requestsPerSecond(wrk, url: url, seconds: BenchmarkSettings.isSmoke ? 1 : 2) }
        for round in 0..<roundsPerPair {
            var pair: [Double] = [0, 0]
            var cpu: [Double] = [0, 0]
            for side in (round % 2 == 0 ? [0, 1] : [1, 0]) {
                let process = sides[side].child.process.processIdentifier
                let before = processCPUSeconds(process)
                pair[side] = try await requestsPerSecond(wrk, url: statusURLs[side], seconds: seconds)
                let used = processCPUSeconds(process).flatMap { after in before.map { after - $0 } }
                cpu[side] = used.map { $0 * 1e6 / max(1, pair[side] * Double(seconds)) } ?? 0
            }
            offRates.append(pair[0])
            onRates.append(pair[1])
            ratios.append(pair[0] > 0 ? pair[1] / pair[0] : 0)
            offCPU.append(cpu[0])
            onCPU.append(cpu[1])
            cpuRatios.append(cpu[0] > 0 ? cpu[1] / cpu[0] : 0)
        }
    }
    guard let (off, on) = lastPair else { throw BenchmarkFailure("BENCH_TRACING_PAIRS must be at least 1") }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    /// The middle half of the rounds' ratios: how far one round's ratio can be trusted.
    func quartiles(_ values: [Double]) -> String {
        let sorted = values.sorted()
        let last = sorted.count - 1
        return String(format: "quartiles %.2f–%.2f", sorted[last / 4], sorted[(3 * last) / 4])
    }
    let rounds = ratios.count
    print("  GET /v1/status, wrk -t1 -c16 -d\(seconds)s, \(pairs) pairs of processes × \(roundsPerPair) rounds: off \(String(format: "%.0f", median(offRates)))/s  on \(String(format: "%.0f", median(onRates)))/s"
        + "  on/off \(String(format: "%.3f", median(ratios))) (median of the \(rounds) rounds' ratios, \(quartiles(ratios)); \(ratios.map { String(format: "%.2f", $0) }.joined(separator: " ")))")
    print("  CPU per request: off \(String(format: "%.1f", median(offCPU))) µs  on \(String(format: "%.1f", median(onCPU))) µs"
        + "  on/off \(String(format: "%.3f", median(cpuRatios))) (median of the rounds' ratios, \(quartiles(cpuRatios)); \(cpuRatios.map { String(format: "%.2f", $0) }.joined(separator: " ")))")

    let audio = try Data(contentsOf: root.appendingPathComponent("Samples/hello-world.wav"))
    let jobCount = BenchmarkSettings.count("BENCH_JOBS", full: 10, smoke: 2)
    var offJobs: [Double] = []
    var onJobs: [Double] = []
    for round in 0..<2 {
        for (base, isOn) in [(off, false), (on, true)] {
            let start = ContinuousClock.now
            var ids: [String] = []
            for index in 0..<jobCount {
                ids.append(try await upload(audio, to: base, requestID: "req_bench_tracing_\(round)_\(isOn)_\(index)"))
            }
            try await waitForAll(ids, children: children) { id in
                let (body, _) = try await URLSession.shared.data(from: base.appendingPathComponent("v1/audio/transcriptions/\(id)"))
                return ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["status"].flatMap { ($0 as? String).flatMap(JobStatus.init(rawValue:)) }
            }
            let rate = Double(jobCount) / (ContinuousClock.now - start).seconds
            if isOn { onJobs.append(rate) } else { offJobs.append(rate) }
        }
    }
    let offPipeline = offJobs.max() ?? 0
    let onPipeline = onJobs.max() ?? 0
    print("  pipeline, \(jobCount) jobs at once, best of 2: off \(String(format: "%.2f", offPipeline)) jobs/s  on \(String(format: "%.2f", onPipeline)) jobs/s  on/off \(String(format: "%.3f", onPipeline / offPipeline))")
    try await Task.sleep(for: .seconds(BenchmarkSettings.isSmoke ? 1 : 6))  // one export interval, so the counts below are complete
    if let (stats, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(receiverPort)/stats")!),
       let object = try? JSONSerialization.jsonObject(with: stats) as? [String: Any] {
        print("  the receiver got \(object["spans"] ?? 0) spans in \(object["requests"] ?? 0) exports")
    }
}

/// User + system CPU seconds a process has used so far (`/proc/PID/stat`), nil when it cannot be read.
func processCPUSeconds(_ process: pid_t) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(process)/stat", encoding: .utf8),
          let afterName = stat.range(of: ") ", options: .backwards)
    else { return nil }
    // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
    let fields = stat[afterName.upperBound...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    return ticks > 0 ? (user + system) / ticks : nil
}
