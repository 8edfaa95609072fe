public import Foundation
import Synchronization

/// The outside tools that tests drive (servers, Festival, Python clients) and whether a missing
/// one skips a test or fails it.
///
/// `make test` (and so CI) sets `DALSTON_REQUIRE_TEST_TOOLS=true` after `scripts/setup.sh test`
/// has installed everything: there a missing tool is a failure, never a silent skip. A plain
/// `swift test` on a machine set up by hand skips what is missing, with a note. `CI=true` keeps
/// its older meaning of "required".
public enum TestTools {
    public static var areRequired: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["DALSTON_REQUIRE_TEST_TOOLS"] == "true" || environment["CI"] == "true"
    }

    /// The package root, wherever the tests run from.
    public static let repositoryRoot: URL = {
        var directory = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { directory.deleteLastPathComponent() }
        return directory
    }()

    /// The project's virtual environment (`scripts/setup.sh test` fills it).
    public static let virtualEnvironment = repositoryRoot.appendingPathComponent(".venv")

    /// The Python that has the test clients: the project's `.venv` when it exists, otherwise
    /// whichever `python3` is first on PATH (a machine set up by hand).
    public static let python: String = {
        let local = virtualEnvironment.appendingPathComponent("bin/python3").path
        return FileManager.default.isExecutableFile(atPath: local) ? local : "python3"
    }()

    /// The environment for child scripts that call `python3` themselves: `.venv/bin` first on PATH.
    public static var scriptEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let bin = virtualEnvironment.appendingPathComponent("bin").path
        environment["PATH"] = FileManager.default.fileExists(atPath: bin) ? "\(bin):\(path)" : path
        return environment
    }

    /// The command line that runs `python` with `arguments` through `/usr/bin/env`.
    public static func pythonCommand(_ arguments: [String]) -> (executable: URL, arguments: [String]) {
        (URL(fileURLWithPath: "/usr/bin/env"), [python] + arguments)
    }

    /// Whether the test Python can import `module`: asked once per module and test process, in a
    /// child waited for on a thread of its own. Test conditions call it at the moment every suite
    /// starts, and importing a large SDK takes seconds on a loaded machine: a synchronous check
    /// there held the concurrency pool (two threads on CI) and stalled the timing of other tests.
    public static func pythonCanImport(_ module: String) async -> Bool {
        let check = importChecks.withLock { checks in
            if let existing = checks[module] { return existing }
            let command = pythonCommand(["-c", "import \(module)"])
            let started = Task { (try? await runProcess(command.executable, arguments: command.arguments))?.status == 0 }
            checks[module] = started
            return started
        }
        return await check.value
    }

    /// Whether the test Python can import every one of `modules`.
    public static func pythonCanImport(_ modules: [String]) async -> Bool {
        for module in modules where !(await pythonCanImport(module)) { return false }
        return true
    }

    private static let importChecks = Mutex<[String: Task<Bool, Never>]>([:])
}
