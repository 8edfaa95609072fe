import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Child processes (servers, services) that must not outlive this process: any still tracked
/// when it exits are SIGKILLed by an exit handler. Tests and benchmarks stop their children
/// themselves; this covers the ways out they cannot (`exit`, a signal turned into `exit`).
public enum ChildProcessRegistry {
    nonisolated(unsafe) private static var tracked: Set<Int32> = []
    private static let lock = NSLock()
    private static let registerExitHandler: Void = {
        atexit { ChildProcessRegistry.killAll() }
    }()

    public static func track(_ processIdentifier: Int32) {
        _ = registerExitHandler
        lock.withLock { _ = tracked.insert(processIdentifier) }
    }

    public static func untrack(_ processIdentifier: Int32) {
        lock.withLock { _ = tracked.remove(processIdentifier) }
    }

    /// SIGKILLs every tracked child and reaps it.
    public static func killAll() {
        let children = lock.withLock { () -> Set<Int32> in
            defer { tracked.removeAll() }
            return tracked
        }
        for child in children {
            kill(child, SIGKILL)
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
    }
}
