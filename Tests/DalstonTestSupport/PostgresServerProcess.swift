import DalstonCore
public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL server of its own (Debian's `postgresql` package: initdb, then `postgres`
/// on a free loopback port), owned by the test that made it; `createDatabase()` gives each test
/// an empty database. As root (CI), the server runs as the `postgres` user, which PostgreSQL
/// requires.
public final class PostgresServerProcess: @unchecked Sendable {
    public let port: Int
    public let dataDirectory: URL
    private let lock = NSLock()
    private var running = false

    public static let binaries: URL? = {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return versions.compactMap(Int.init).sorted().last.map { root.appendingPathComponent("\($0)/bin") }
            .flatMap { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("initdb").path) ? $0 : nil }
    }()
    public static var isInstalled: Bool { binaries != nil }
    /// For `.enabled(if:)`: run when installed, and always under `make test` and CI.
    public static var shouldRun: Bool { isInstalled || TestTools.areRequired }
    public static let skipReason = "PostgreSQL is not installed (apt-get install postgresql); under `make test` or CI this is a failure"
    static let superuser = "dalston"

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Creates a cluster in a temporary directory and starts it.
    public init() async throws {
        guard let binaries = Self.binaries else { throw Failure(description: "PostgreSQL is not installed; scripts/setup.sh test installs it") }
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-postgres-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        try await Self.giveToServerUser(dataDirectory)
        port = try freeTCPPort()
        // One initdb at a time (each is a second or two of CPU), so several suites making
        // servers at once do not starve the timing-sensitive tests beside them.
        await Self.initdbGate.enter()
        let initdb: (status: Int32, output: String)
        do {
            initdb = try await Self.runAsServerUser(binaries.appendingPathComponent("initdb").path, [
                "-D", dataDirectory.appendingPathComponent("data").path, "-U", Self.superuser, "--auth=trust", "--no-sync", "-E", "UTF8",
            ])
            Self.initdbGate.leave()
        } catch {
            Self.initdbGate.leave()
            throw error
        }
        guard initdb.status == 0 else { throw Failure(description: "initdb failed: \(initdb.output)") }
        try await start()
    }

    /// `postgres://dalston@127.0.0.1:PORT/NAME?sslmode=disable`
    public func url(database: String) -> String {
        "postgres://\(Self.superuser)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// A new empty database; its URL.
    public func createDatabase() async throws -> String {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let result = try await Self.run("/usr/bin/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.superuser, "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                                                    "-c", "CREATE DATABASE \(name)"])
        guard result.status == 0 else { throw Failure(description: "CREATE DATABASE failed: \(result.output)") }
        return url(database: name)
    }

    /// Starts (or restarts) the server on its port and waits until it accepts connections.
    public func start() async throws {
        guard let binaries = Self.binaries else { return }
        // pg_ctl leaves the server running in the background, holding every descriptor it was
        // given: Foundation would wait for them to close, so pg_ctl is not waited for; the
        // server's readiness is polled instead.
        let starter = Process()
        let (executable, arguments) = Self.asServerUser(binaries.appendingPathComponent("pg_ctl").path, [
            "start", "-D", dataDirectory.appendingPathComponent("data").path,
            "-l", dataDirectory.appendingPathComponent("server.log").path,
            "-o", "-p \(port) -h 127.0.0.1 -k \(dataDirectory.path) -F -c max_connections=200",
        ])
        starter.executableURL = URL(fileURLWithPath: executable)
        starter.arguments = arguments
        starter.standardInput = FileHandle.nullDevice
        starter.standardOutput = FileHandle.nullDevice
        starter.standardError = FileHandle.nullDevice
        try starter.run()
        lock.withLock { running = true }
        Self.track(dataDirectory, running: true)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let ready = try await Self.run(binaries.appendingPathComponent("pg_isready").path, ["-h", "127.0.0.1", "-p", "\(port)", "-t", "1"])
            if ready.status == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = (try? String(contentsOf: dataDirectory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
        throw Failure(description: "PostgreSQL on port \(port) did not start within 30 s: \(log.suffix(2000))")
    }

    /// Stops at once (as a crash or a lost host looks to clients).
    public func stop() async {
        guard let binaries = Self.binaries, lock.withLock({ running }) else { return }
        _ = try? await Self.runAsServerUser(binaries.appendingPathComponent("pg_ctl").path, [
            "stop", "-m", "immediate", "-w", "-D", dataDirectory.appendingPathComponent("data").path,
        ])
        lock.withLock { running = false }
    }

    deinit {
        Self.stopServer(in: dataDirectory)
        Self.track(dataDirectory, running: false)
    }

    // MARK: Processes

    static func giveToServerUser(_ directory: URL) async throws {
        guard getuid() == 0 else { return }
        let result = try await run("/bin/chown", ["postgres:postgres", directory.path])
        guard result.status == 0 else { throw Failure(description: "chown failed: \(result.output)") }
    }

    static func runAsServerUser(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let (command, commandArguments) = asServerUser(executable, arguments)
        return try await run(command, commandArguments)
    }

    /// Runs a command to its end on a thread of its own, at a lower priority: waiting for
    /// initdb or psql must not hold one of the cooperative pool's two threads, which every other
    /// test needs meanwhile.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await onBackgroundThread { Result { try runBlocking(executable, arguments) } }.get()
    }

    static let initdbGate = AsyncGate()

    /// PostgreSQL refuses to run as root: as root, through `runuser -u postgres`.
    static func asServerUser(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        getuid() == 0 ? ("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments) : (executable, arguments)
    }

    static func runBlocking(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-pg-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Not `waitUntilExit()`: `pg_ctl start` leaves a server behind that inherits what Foundation
        // watches for the end of `pg_ctl` (see `ChildExit`).
        let status = ChildExit.exitStatusBlocking(process, timeout: .seconds(120))
        try? handle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: output)
        guard let status else {
            ChildExit.kill(process)
            return (-1, "\(executable) did not end within 120 s: \(text)")
        }
        return (status, text)
    }

    // A server started with pg_ctl outlives the test process unless stopped: every one still
    // running is stopped at exit.
    nonisolated(unsafe) private static var running: Set<String> = []
    private static let exitLock = NSLock()
    private static let registerExitHandler: Void = {
        atexit {
            PostgresServerProcess.exitLock.lock()
            let directories = PostgresServerProcess.running
            PostgresServerProcess.exitLock.unlock()
            for directory in directories { PostgresServerProcess.stopServer(in: URL(fileURLWithPath: directory)) }
        }
    }()

    static func track(_ directory: URL, running isRunning: Bool) {
        _ = registerExitHandler
        exitLock.withLock {
            if isRunning { running.insert(directory.path) } else { running.remove(directory.path) }
        }
    }

    /// Blocking (deinit, exit): stops the server in `directory` and removes it.
    static func stopServer(in directory: URL) {
        guard let binaries else { return }
        let (command, arguments) = asServerUser(binaries.appendingPathComponent("pg_ctl").path, [
            "stop", "-m", "immediate", "-w", "-D", directory.appendingPathComponent("data").path,
        ])
        _ = try? runBlocking(command, arguments)
        try? FileManager.default.removeItem(at: directory)
    }
}
