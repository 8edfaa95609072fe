import DalstonLogging
import DalstonTestSupport
import Foundation
import Logging

/// Cost of one log call to /dev/null, side by side with swift-log's StreamLogHandler and Python
/// structlog, plus where the time of the JSON case goes.
func runLoggingBenchmark() {

    let devNull = open("/dev/null", O_WRONLY)
    guard devNull >= 0 else { fatalError("cannot open /dev/null") }
    let sink = FileDescriptorLineWriter(fileDescriptor: devNull)
    // What the services write through by default (LOG_BUFFER_BYTES=65536).
    let bufferedSink = BufferedLineWriter(fileDescriptor: devNull)
    defer { bufferedSink.close() }

    func dalstonLogger(_ format: LogFormat, writer: any LogLineWriter = bufferedSink) -> Logger {
        LogPipeline(configuration: LoggingConfiguration(service: "bench", format: format, levels: LogLevelPolicy(defaultLevel: .info), writer: writer))
            .makeLogger(label: "dalston.bench")
    }

    let context: Logger.Metadata = ["request_id": "req_3f2a9c", "job_id": "job_81b0", "task_id": "task_77aa"]

    /// The same call in every case: event, 2 call fields, inside 3 task-local context fields.
    func loggedCall(_ logger: Logger, level: Logger.Level = .info) -> Double {
        withLogContext(context) {
            measure {
                logger.log(level: level, "task_completed", metadata: ["engine": "transcribe", "duration_ms": .stringConvertible(42)])
            }
        }
    }

    /// swift-log's own StreamLogHandler, pointed at /dev/null by redirecting stdout for the measurement.
    func streamHandlerCall(level: Logger.Level = .info) -> Double {
        fflush(nil)
        let savedStdout = dup(1)
        dup2(devNull, 1)
        defer { fflush(nil); dup2(savedStdout, 1); close(savedStdout) }
        var logger = Logger(label: "bench") { StreamLogHandler.standardOutput(label: $0, metadataProvider: LogContext.metadataProvider) }
        logger.logLevel = .info
        return loggedCall(logger, level: level)
    }

    /// Python structlog with the equivalent configuration (Benchmarks/structlog_baseline.py), if installed.
    func structlogBaseline() -> [String: Double]? {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("structlog_baseline.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestTools.python)
        process.arguments = [script.path, "\(iterations / 4)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return try? JSONDecoder().decode([String: Double].self, from: data)
    }

    /// Inside a span: the ids handed over by the tracer (`LoggingConfiguration.traceIDs`, what the
    /// services use) against a metadata provider that formats them for every line (what they
    /// used before).
    let ids = LogTraceIDs(traceIDHigh: 0x0af7_6519_16cd_43dd, traceIDLow: 0x8448_eb21_1c80_319c, spanID: 0xb7ad_6b71_6920_3331)
    func inSpan(_ configure: (inout LoggingConfiguration) -> Void) -> Logger {
        var configuration = LoggingConfiguration(service: "bench", levels: LogLevelPolicy(defaultLevel: .info), writer: bufferedSink)
        configure(&configuration)
        return LogPipeline(configuration: configuration).makeLogger(label: "dalston.bench")
    }
    let spanCases: [(name: String, key: String, dalston: Double, stream: Double?)] = [
        ("(d) in a span, ids from the tracer", "-", loggedCall(inSpan { $0.traceIDs = { _ in ids } }), nil),
        ("(d') in a span, ids from a provider", "-", loggedCall(inSpan { configuration in
            configuration.metadataProviders = [Logger.MetadataProvider { ["trace_id": .string(ids.traceIDHex), "span_id": .string(ids.spanIDHex)] }]
        }), nil),
    ]

    let results: [(name: String, key: String, dalston: Double, stream: Double?)] = [
        ("(a) JSON, 3 context + 2 call fields", "json", loggedCall(dalstonLogger(.json)), streamHandlerCall()),
        ("(a') JSON, one write(2) per line", "json", loggedCall(dalstonLogger(.json, writer: sink)), nil),
        ("(b) console, same call", "console", loggedCall(dalstonLogger(.console)), nil),
        ("(c) call below the level", "below_level", loggedCall(dalstonLogger(.json), level: .debug), streamHandlerCall(level: .debug)),
    ] + spanCases
    let structlog = structlogBaseline()

    /// Where the time of case (a) goes: the floor swift-log itself sets (its dispatch to a handler
    /// that does nothing, plus the caller building the metadata dictionary), Dalston's pipeline up to
    /// the writer, and the `write(2)` of one line.
    struct DiscardingHandler: LogHandler {
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {}
    }
    struct DiscardingWriter: LogLineWriter {
        func write(line: UnsafeRawBufferPointer) {}
    }
    let breakdown: [(String, Double)] = [
        ("swift-log call + metadata literal, handler does nothing", loggedCall(Logger(label: "bench") { _ in DiscardingHandler() })),
        ("Dalston pipeline, JSON, writer discards", loggedCall(
            LogPipeline(configuration: LoggingConfiguration(service: "bench", writer: DiscardingWriter())).makeLogger(label: "dalston.bench"))),
        ("write(2) of one 250-byte line to /dev/null", {
            let line = [UInt8](repeating: UInt8(ascii: "x"), count: 249) + [10]
            return line.withUnsafeBytes { bytes in measure { sink.write(line: bytes) } }
        }()),
    ]

    print("Logging to /dev/null, median ns per call over \(rounds) rounds of \(iterations) calls")
    print("case".padding(toLength: 36, withPad: " ", startingAt: 0) + "dalston ns".leftPadded(14) + "swift-log Stream".leftPadded(19) + "structlog".leftPadded(12) + "  structlog/dalston")
    for result in results {
        let python = structlog?[result.key]
        let ratio = python.map { String(format: "%.1fx", $0 / result.dalston) } ?? "-"
        print(result.name.padding(toLength: 36, withPad: " ", startingAt: 0) + cell(result.dalston) + cell(result.stream, width: 19) + cell(python, width: 12) + "  " + ratio)
    }
    if structlog == nil {
        print("(structlog not measured: `pip install structlog` to add the Python baseline)")
    }
    // The least any handler can cost below the level through swift-log's `Logger`: nothing but a
    // level kept as a stored property (so it cannot follow LOG_LEVEL changes at run time) and no
    // metadata to copy.
    struct LevelOnlyHandler: LogHandler {
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata {
            get { [:] }
            set {}
        }
        var metadataProvider: Logger.MetadataProvider? {
            get { nil }
            set {}
        }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { nil }
            set {}
        }
        func log(event: LogEvent) {}
    }
    let floorBelowLevel = loggedCall(Logger(label: "bench") { _ in LevelOnlyHandler() }, level: .debug)
    print("(c) swift-log's own floor, a handler holding only a stored level: " + String(format: "%.1f", floorBelowLevel) + " ns")
    print("\nWhere the time of (a) goes (ns per call):")
    for (name, nanoseconds) in breakdown {
        print("  " + name.padding(toLength: 58, withPad: " ", startingAt: 0) + cell(nanoseconds, width: 8))
    }

}

/// Case (a) alone, for `BENCH_SECONDS` (default 10), so that a profiler sees only it:
/// `perf record -g .build/release/dalston-benchmarks logging-profile`.
func runLoggingProfile() {
    let devNull = open("/dev/null", O_WRONLY)
    guard devNull >= 0 else { BenchmarkFailure.exit("cannot open /dev/null") }
    let level: Logger.Level = ProcessInfo.processInfo.environment["BENCH_LOG_LEVEL"] == "debug" ? .debug : .info
    let writer = BufferedLineWriter(fileDescriptor: devNull)
    let logger = LogPipeline(configuration: LoggingConfiguration(
        service: "bench", levels: LogLevelPolicy(defaultLevel: .info), writer: writer
    )).makeLogger(label: "dalston.bench")
    let seconds = BenchmarkSettings.count("BENCH_SECONDS", full: 10, smoke: 1)
    let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds) * 1_000_000_000
    var calls = 0
    withLogContext(["request_id": "req_3f2a9c", "job_id": "job_81b0", "task_id": "task_77aa"]) {
        while DispatchTime.now().uptimeNanoseconds < end {
            for _ in 0..<10_000 {
                logger.log(level: level, "task_completed", metadata: ["engine": "transcribe", "duration_ms": .stringConvertible(42)])
            }
            calls += 10_000
        }
    }
    print("logging-profile: \(calls) calls in \(seconds) s, \(String(format: "%.1f", Double(seconds) * 1e9 / Double(calls))) ns per call")
}

