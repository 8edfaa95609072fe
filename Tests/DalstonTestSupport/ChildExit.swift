public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether a child process has ended, asked of the kernel as well as of Foundation.
///
/// Foundation learns that a child ended through a socket that only the child should hold. When
/// many tests spawn at once, another child can inherit that socket too (Foundation on Linux lists
/// the descriptors to close in the child before spawning, and one opened by another thread in
/// between slips through); the news then never comes, `isRunning` stays true and
/// `waitUntilExit()` waits forever. Seen once on CI: a SIGKILLed engine, gone from the process
/// table, and the test waiting on it until the 90-minute limit.
public enum ChildExit {
    /// The state of `pid` if it is still a child of this process (a zombie counts), nil once it
    /// has been reaped (or the number now belongs to someone else's process).
    static func state(of pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let commandEnd = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: commandEnd)...].split(separator: " ")
        guard fields.count >= 2, let parent = Int32(fields[1]), parent == getpid() else { return nil }
        return fields[0].first
    }

    /// Whether `process` has ended: Foundation says so, or the kernel shows it dead or gone.
    public static func hasEnded(_ process: Process) -> Bool {
        guard process.isRunning else { return true }
        guard let state = state(of: process.processIdentifier) else { return true }
        return state == "Z" || state == "X"
    }

    /// Whether `process` is a child of ours that is still running: signals go only to such a
    /// process (a number whose child was reaped may already name another process).
    public static func isRunningChild(_ process: Process) -> Bool {
        !hasEnded(process)
    }

    /// Waits, polling, until `process` has ended or `timeout` passes; true when it ended.
    /// Blocking: for `deinit`, `defer` and threads of their own.
    @discardableResult
    public static func waitBlocking(_ process: Process, timeout: Duration = .seconds(30)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !hasEnded(process) {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    /// `waitBlocking` off the concurrency pool.
    @discardableResult
    public static func wait(_ process: Process, timeout: Duration = .seconds(30)) async -> Bool {
        await onThread { waitBlocking(process, timeout: timeout) }
    }

    /// The exit status (a signal's number plus 128 for a child killed by one), once `process` has
    /// ended; nil when it has not within `timeout`. When Foundation never hears of the end, the
    /// child is reaped here, after a grace period in which Foundation would normally have done so.
    public static func exitStatusBlocking(_ process: Process, timeout: Duration = .seconds(60)) -> Int32? {
        guard waitBlocking(process, timeout: timeout) else { return nil }
        let graceEnd = ContinuousClock.now + .seconds(2)
        while process.isRunning && ContinuousClock.now < graceEnd { usleep(10_000) }
        if !process.isRunning {
            return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        }
        var status: Int32 = 0
        guard waitpid(process.processIdentifier, &status, WNOHANG) == process.processIdentifier else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// SIGKILL if still running, then waits (a killed child is a zombie within milliseconds).
    public static func kill(_ process: Process) {
        guard isRunningChild(process) else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        waitBlocking(process, timeout: .seconds(10))
    }
}
