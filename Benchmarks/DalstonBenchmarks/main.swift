// Dalston's speed, measured side by side with baselines in the same run:
//   swift run -c release dalston-benchmarks [logging|redis|pipeline|metrics|tracing|api|realtime|records|all]
// See Benchmarks/README.md for what each part measures.
import DalstonLogging
import DalstonObservability
import Foundation

let iterations = BenchmarkSettings.count("BENCH_ITERATIONS", full: 200_000, smoke: 2_000)
let rounds = BenchmarkSettings.isSmoke ? 3 : 7

/// Median nanoseconds per call over `rounds` rounds of `iterations` calls.
func measure(_ body: () -> Void) -> Double {
    for _ in 0..<(iterations / 10) { body() }  // warm up caches, thread-local buffers, branch predictors
    var samples: [Double] = []
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { body() }
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations))
    }
    return samples.sorted()[rounds / 2]
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

func cell(_ value: Double?, width: Int = 14) -> String {
    (value.map { String(format: "%.1f", $0) } ?? "-").leftPadded(width)
}

// The services' own logs would drown the figures: only warnings and errors, on stderr.
// Metrics are off globally: each benchmark builds the registries it compares.
_ = Observability.configureOrExit(
    service: "benchmarks", environment: ["LOG_LEVEL": "warning", "LOG_FORMAT": "console", "METRICS_ENABLED": "false"]
) {
    $0.writer = FileDescriptorLineWriter.standardError
}

makeStandardOutputLineBuffered()
BenchmarkExit.installSignalHandlers()
let part = CommandLine.arguments.dropFirst().first { $0 != "--smoke" } ?? "logging"
/// The parts `all` runs, in this order; each also runs alone by its name.
let parts: [(name: String, run: () async throws -> Void)] = [
    ("logging", { runLoggingBenchmark() }),
    ("redis", runRedisBenchmark),
    ("pipeline", runPipelineBenchmark),
    ("metrics", runMetricsBenchmark),
    ("tracing", runTracingBenchmark),
    ("api", runAPIBenchmark),
    ("realtime", runRealtimeBenchmark),
    ("records", runRecordsBenchmark),
    ("limits", runRateLimitBenchmark),
]
/// One case alone, for a profiler; not part of `all`.
let profiles: [(name: String, run: () -> Void)] = [
    ("logging-profile", runLoggingProfile),
    ("metrics-profile", runMetricsProfile),
]
do {
    if part == "all" {
        for (index, entry) in parts.enumerated() {
            if index > 0 { print() }
            try await entry.run()
        }
    } else if let entry = parts.first(where: { $0.name == part }) {
        try await entry.run()
    } else if let profile = profiles.first(where: { $0.name == part }) {
        profile.run()
    } else {
        let names = (parts.map(\.name) + profiles.map(\.name) + ["all"]).joined(separator: "|")
        FileHandle.standardError.write(Data("usage: dalston-benchmarks [\(names)] [--smoke]\n".utf8))
        exit(2)
    }
} catch {
    // A part that cannot go on says why; the exit handler stops its children.
    FileHandle.standardError.write(Data("dalston-benchmarks \(part): \(error)\n".utf8))
    exit(1)
}
