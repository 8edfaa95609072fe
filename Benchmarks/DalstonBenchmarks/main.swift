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
do {
    switch part {
    case "logging":
        runLoggingBenchmark()
    case "logging-profile":
        runLoggingProfile()
    case "metrics-profile":
        runMetricsProfile()
    case "redis":
        try await runRedisBenchmark()
    case "pipeline":
        try await runPipelineBenchmark()
    case "metrics":
        try await runMetricsBenchmark()
    case "tracing":
        try await runTracingBenchmark()
    case "api":
        try await runAPIBenchmark()
    case "realtime":
        try await runRealtimeBenchmark()
    case "records":
        try await runRecordsBenchmark()
    case "all":
        runLoggingBenchmark()
        print()
        try await runRedisBenchmark()
        print()
        try await runPipelineBenchmark()
        print()
        try await runMetricsBenchmark()
        print()
        try await runTracingBenchmark()
        print()
        try await runAPIBenchmark()
        print()
        try await runRealtimeBenchmark()
        print()
        try await runRecordsBenchmark()
    default:
        FileHandle.standardError.write(Data("usage: dalston-benchmarks [logging|redis|pipeline|metrics|tracing|api|realtime|records|all] [--smoke]\n".utf8))
        exit(2)
    }
} catch {
    // A part that cannot go on says why; the exit handler stops its children.
    FileHandle.standardError.write(Data("dalston-benchmarks \(part): \(error)\n".utf8))
    exit(1)
}
