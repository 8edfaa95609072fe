package import DalstonBroker
import DalstonCore
import Foundation
package import Logging
import Synchronization

/// One model runner process and the narrow protocol it speaks (docs/runners.md): JSON lines,
/// one request at a time on stdin, one reply per request on stdout, log lines on stderr.
///
/// `start` returns once the runner has loaded its model and said `ready`. Cancelling a request
/// kills the process (inference stops at once, whatever the model library is doing); a process
/// that is gone answers every later call with `died`, and its owner starts a new one.
package final class RunnerProcess: Sendable {
    package let pid: Int32
    private let process: UncheckedProcess
    private let input: FileHandle
    private let replies = LineMailbox()
    private let exited = OnceSignal()
    private let state = Mutex(State())

    private struct State {
        /// The runner's `ready` message (`runner`, `model`, `load_seconds`, `pid`, ...).
        var ready: [String: JSONValue] = [:]
        var exitStatus: Int32?
        var killed = false
        /// The last lines of stderr, for the error of a runner that dies or will not start.
        var recentOutput: [String] = []
    }

    private init(process: Process, input: FileHandle) {
        self.process = UncheckedProcess(process)
        self.pid = process.processIdentifier
        self.input = input
    }

    /// What the runner said when it was ready.
    package var ready: [String: JSONValue] { state.withLock { $0.ready } }

    package var isRunning: Bool { state.withLock { $0.exitStatus == nil && !$0.killed } }

    /// Starts the runner and waits for its `ready` line. A runner that exits first, says `fatal`
    /// or takes longer than the command's `startTimeout` is a `failedToStart` naming why (with
    /// the last lines it wrote).
    package static func start(_ command: RunnerCommand, logger: Logger) async throws(RunnerError) -> RunnerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        process.environment = command.environment
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            throw .failedToStart("cannot run \(command.executable) (\(error.localizedDescription)); run scripts/setup.sh run, or set DALSTON_PYTHON")
        }
        let runner = RunnerProcess(process: process, input: stdin.fileHandleForWriting)
        var relayLogger = logger
        relayLogger[metadataKey: "runner_pid"] = .stringConvertible(runner.pid)
        let relay = RunnerLogRelay(logger: relayLogger)
        LineMailbox.pump(stdout.fileHandleForReading, into: runner.replies.push, end: runner.replies.finish)
        LineMailbox.pump(stderr.fileHandleForReading, into: { line in
            runner.remember(line)
            relay.relay(line)
        }, end: { runner.noteExit() })
        // Timed out: killing the runner closes its output, which ends the wait for a line.
        let first = await awaiting({ await runner.replies.next() }, atMost: command.startTimeout, onTimeout: runner.kill)
        guard case .some(let line) = first else {
            runner.kill()
            throw .failedToStart("its model did not load within \(command.startTimeout)\(runner.recentOutputSummary)")
        }
        guard let line, let message = Self.decode(line) else {
            runner.kill()
            await runner.waitForExit()
            throw .failedToStart("it exited (\(runner.exitDescription)) before it was ready\(runner.recentOutputSummary)")
        }
        switch message["type"]?.stringValue {
        case "ready":
            runner.state.withLock { $0.ready = message }
            return runner
        case "fatal":
            runner.kill()
            throw .failedToStart(message["message"]?.stringValue ?? "it reported a fatal error")
        default:
            runner.kill()
            throw .protocolViolation("its first line was not `ready`: \(line.prefix(200))")
        }
    }

    /// Sends one request and returns the runner's `result` reply. Cancelling the calling task
    /// kills the runner (`cancelled`); a runner that dies meanwhile is `died`; its `error` reply
    /// is `requestFailed`. Callers send one request at a time.
    package func call<Reply: Decodable>(_ request: some Encodable, replying: Reply.Type) async throws(RunnerError) -> Reply {
        guard isRunning else { throw .died("it had already exited (\(exitDescription))") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            // JSONEncoder escapes control characters, so the line cannot hold a newline of its own.
            var line = try encoder.encode(request)
            line.append(UInt8(ascii: "\n"))
            try input.write(contentsOf: line)
        } catch {
            kill()
            throw .died("the request could not be sent (\(error.localizedDescription))")
        }
        let reply = await withTaskCancellationHandler {
            await replies.next()
        } onCancel: {
            kill()
        }
        if Task.isCancelled {
            kill()
            throw .cancelled
        }
        guard let reply else {
            await waitForExit()
            throw .died("it exited (\(exitDescription))\(recentOutputSummary)")
        }
        guard let message = Self.decode(reply) else { throw .protocolViolation("a reply was not a JSON object: \(reply.prefix(200))") }
        switch message["type"]?.stringValue {
        case "result":
            do {
                return try JSONDecoder().decode(Reply.self, from: Data(reply.utf8))
            } catch {
                throw .protocolViolation("its result did not have the expected shape: \(error)")
            }
        case "error":
            throw .requestFailed(message["message"]?.stringValue ?? "the runner failed the request", permanent: message["permanent"] == .bool(true))
        default:
            throw .protocolViolation("unexpected reply type \(message["type"]?.stringValue ?? "none")")
        }
    }

    /// Asks the runner to exit (closing its input); kills it if it has not within `grace`.
    package func stop(grace: Duration = .seconds(2)) async {
        guard isRunning else { return }
        try? input.write(contentsOf: Data(#"{"type":"shutdown"}"#.utf8 + [UInt8(ascii: "\n")]))
        try? input.close()
        let stopped = await awaiting({ await self.exited.wait() }, atMost: grace) ?? false
        if !stopped { kill() }
    }

    /// SIGKILL: stops inference at once. Idempotent.
    package func kill() {
        let alreadyGone = state.withLock { state -> Bool in
            defer { state.killed = true }
            return state.killed || state.exitStatus != nil
        }
        guard !alreadyGone else { return }
        Foundation.kill(pid, SIGKILL)
    }

    private static func decode(_ line: String) -> [String: JSONValue]? {
        try? JSONDecoder().decode([String: JSONValue].self, from: Data(line.utf8))
    }

    private func remember(_ line: String) {
        state.withLock { state in
            state.recentOutput.append(String(line.prefix(500)))
            if state.recentOutput.count > 8 { state.recentOutput.removeFirst() }
        }
    }

    /// Called when stderr closes, which happens as the process exits: reaps it off the pool
    /// (the pipe thread may block) and records its status.
    private func noteExit() {
        process.process.waitUntilExit()
        let status = process.process.terminationStatus
        let reason = process.process.terminationReason
        state.withLock { $0.exitStatus = reason == .uncaughtSignal ? -status : status }
        exited.fire()
    }

    /// Waits (at most a few seconds) for the process to be reaped after its pipes closed.
    private func waitForExit() async {
        _ = await awaiting({ await self.exited.wait() }, atMost: .seconds(5))
    }

    private var exitDescription: String {
        let (status, killed) = state.withLock { ($0.exitStatus, $0.killed) }
        guard let status else { return killed ? "killed" : "still running" }
        if status < 0 { return killed ? "killed by Dalston" : "killed by signal \(-status)" }
        return "exit status \(status)"
    }

    private var recentOutputSummary: String {
        let lines = state.withLock { $0.recentOutput }
        return lines.isEmpty ? "" : "; its last output: " + lines.suffix(3).joined(separator: " | ")
    }
}

/// The result of `operation`, or nil when `limit` passes first; `onTimeout` runs before the
/// operation is cancelled, for one that cancellation alone does not end (a wait for a line of a
/// pipe ends when the process is killed).
private func awaiting<T: Sendable>(
    _ operation: @escaping @Sendable () async -> T, atMost limit: Duration, onTimeout: @escaping @Sendable () -> Void = {}
) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        if case .none = first { onTimeout() }
        group.cancelAll()
        return first
    }
}

/// `Process` is used from the pipe threads and the owner only through its thread-safe parts
/// (pid, termination status once reaped).
private struct UncheckedProcess: @unchecked Sendable {
    let process: Process
    init(_ process: Process) { self.process = process }
}
