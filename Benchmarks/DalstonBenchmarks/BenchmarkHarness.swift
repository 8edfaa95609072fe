import DalstonCore
import DalstonPipeline
import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Settings every part reads: counts from `BENCH_*` variables, shrunk in smoke mode.
///
/// Smoke mode (`--smoke` or `BENCH_SMOKE=1`) runs every part with tiny counts in seconds: the
/// figures mean nothing, but a part that no longer starts, hangs or fails is caught by CI.
enum BenchmarkSettings {
    static let isSmoke = CommandLine.arguments.contains("--smoke") || ProcessInfo.processInfo.environment["BENCH_SMOKE"] == "1"

    /// `BENCH_…` as a positive whole number, else `full` (or `smoke` in smoke mode).
    static func count(_ variable: String, full: Int, smoke: Int) -> Int {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return isSmoke ? smoke : full }
        guard let value = Int(text), value > 0 else { BenchmarkFailure.exit("\(variable)=\(text) is not a positive whole number") }
        return value
    }

    /// `BENCH_…` as a positive number (fractions allowed).
    static func amount(_ variable: String, full: Double, smoke: Double) -> Double {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return isSmoke ? smoke : full }
        guard let value = Double(text), value > 0, value.isFinite else { BenchmarkFailure.exit("\(variable)=\(text) is not a positive number") }
        return value
    }

    /// A comma-separated list of positive whole numbers.
    static func counts(_ variable: String, full: [Int], smoke: [Int]) -> [Int] {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return isSmoke ? smoke : full }
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            BenchmarkFailure.exit("\(variable)=\(text) is not a comma-separated list of positive whole numbers")
        }
        return values.compactMap { $0 }
    }

    /// How long a part may go without progress (no job finished, no reply) before it fails.
    static var stallTimeout: Duration { .seconds(count("BENCH_STALL_SECONDS", full: 120, smoke: 120)) }
}

/// A benchmark that cannot go on: the message says why, and the process exits 1 after its
/// children are stopped.
struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    static func exit(_ message: String) -> Never {
        FileHandle.standardError.write(Data("dalston-benchmarks: \(message)\n".utf8))
        Glibc.exit(1)  // runs the exit handler that stops every child
    }
}

/// A child process started by a benchmark, its standard error kept in a file so that a failure
/// can say what the child said before it died.
final class BenchmarkChild: @unchecked Sendable {
    let name: String
    let process: Process
    private let errorLog: URL

    init(name: String, executable: URL, arguments: [String], environment: [String: String]) throws {
        self.name = name
        errorLog = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-\(UUID().uuidString).stderr")
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errorLog)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        ChildProcessRegistry.track(process.processIdentifier)
    }

    var isRunning: Bool { process.isRunning }

    /// Throws when the child has exited: a benchmark whose services died cannot make progress.
    func checkAlive() throws {
        guard !process.isRunning else { return }
        let text = (try? String(contentsOf: errorLog, encoding: .utf8)) ?? ""
        let tail = text.split(separator: "\n").suffix(5).joined(separator: "\n    ")
        throw BenchmarkFailure("`\(name)` exited with status \(process.terminationStatus)" + (tail.isEmpty ? "" : "; its last lines:\n    \(tail)"))
    }

    func stop() {
        stopChild(process)
        try? FileManager.default.removeItem(at: errorLog)
    }
}

/// SIGTERM, then SIGKILL after 5 s (some children, e.g. `redis-cli monitor`, do not end on
/// SIGTERM), and the child is no longer tracked for the exit handler.
func stopChild(_ process: Process) {
    if process.isRunning {
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
    ChildProcessRegistry.untrack(process.processIdentifier)
}

/// Children get stopped on every way out: a thrown error (the parts' `defer`s), `exit` (the
/// registry's exit handler) and SIGINT/SIGTERM/SIGHUP (turned into `exit`).
enum BenchmarkExit {
    static func installSignalHandlers() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("dalston-benchmarks: stopped by signal \(signalNumber); stopping children\n".utf8))
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }

    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
}

/// Waits until every job has finished, failing with a message when one fails, when a child
/// service died or when no job finished for `BenchmarkSettings.stallTimeout`.
func waitForAll(_ ids: [String], children: [BenchmarkChild] = [], status: (String) async throws -> JobStatus?) async throws {
    var pending = Set(ids)
    var lastProgress = ContinuousClock.now
    let stallTimeout = BenchmarkSettings.stallTimeout
    while !pending.isEmpty {
        for child in children { try child.checkAlive() }
        var statuses: [String: Int] = [:]
        for id in pending {
            let current = try await status(id)
            if let current, current.isFinal {
                if current != .completed { throw BenchmarkFailure("job \(id) ended \(current.rawValue)") }
                pending.remove(id)
                lastProgress = .now
            } else {
                statuses[current?.rawValue ?? "unknown", default: 0] += 1
            }
        }
        if ContinuousClock.now - lastProgress > stallTimeout {
            let summary = statuses.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            throw BenchmarkFailure("no job finished in \(stallTimeout) (\(pending.count) of \(ids.count) left: \(summary)); raise BENCH_STALL_SECONDS if the machine is this slow")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Waits for `GET url` to answer, failing with a message (and the child's last words) when it
/// does not within 60 s.
func waitUntilHealthy(_ url: URL, children: [BenchmarkChild] = []) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
        for child in children { try child.checkAlive() }
        if let (_, response) = try? await URLSession.shared.data(from: url), (response as? HTTPURLResponse)?.statusCode == 200 { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw BenchmarkFailure("\(url) did not answer within 60 s")
}
