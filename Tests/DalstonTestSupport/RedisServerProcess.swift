public import DalstonRedis
public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` on a free loopback port, owned by one test.
///
/// Tests that need one are enabled when redis-server is installed; under `make test` and CI they always run,
/// so a missing server fails CI instead of silently skipping.
public final class RedisServerProcess: @unchecked Sendable {
    /// Chosen free at start; another one if a concurrent test's server took it first.
    public private(set) var port: Int
    public let password: String?
    /// With a directory, the server keeps an append-only file there (fsync on every write), so
    /// a restart after SIGKILL brings the data back, as a production Redis with AOF does.
    public let persistenceDirectory: URL?
    private let lock = NSLock()
    private var process: Process?

    public static let executable: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    public static var isInstalled: Bool { executable != nil }
    /// For `.enabled(if:)`: run when installed, and always under `make test` and CI.
    public static var shouldRun: Bool { isInstalled || TestTools.areRequired }
    public static let skipReason = "redis-server is not installed (apt-get install redis-server); under `make test` or CI this is a failure"

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts a server and waits until it answers.
    public init(password: String? = nil, appendOnly: Bool = false) async throws {
        self.port = try freeTCPPort()
        self.password = password
        if appendOnly {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-redis-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            persistenceDirectory = directory
        } else {
            persistenceDirectory = nil
        }
        // A port found free may be taken by another test's server before ours binds it: then
        // ours exits at once, and a ping would be answered by the other one. Take another port.
        for attempt in 1...3 {
            do {
                try await start()
                return
            } catch let error as PortTaken where attempt < 3 {
                _ = error
                port = try freeTCPPort()
            }
        }
    }

    struct PortTaken: Error {}

    public var configuration: RedisConfiguration {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: port)
        configuration.password = password
        configuration.connectTimeout = .seconds(2)
        return configuration
    }

    public var url: String {
        password.map { "redis://:\($0)@127.0.0.1:\(port)/0" } ?? "redis://127.0.0.1:\(port)/0"
    }

    /// (Re)starts on the same port.
    public func start() async throws {
        guard let executable = Self.executable else {
            throw Unavailable(description: "redis-server is not installed; .ci/run installs it with apt-get")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "",
            "--enable-debug-command", "local", "--loglevel", "warning",
        ]
        if let persistenceDirectory {
            arguments += ["--dir", persistenceDirectory.path, "--appendonly", "yes", "--appendfsync", "always"]
        } else {
            arguments += ["--appendonly", "no"]
        }
        if let password { arguments += ["--requirepass", password] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        ChildProcessRegistry.track(process.processIdentifier)
        lock.withLock { self.process = process }
        // Generous: at the start of a test run every suite starts its servers at once on two cores.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning { ChildProcessRegistry.untrack(process.processIdentifier); throw PortTaken() }
            if await onThread({ [port] in Self.answersPing(port: port) }) {
                try await Task.sleep(for: .milliseconds(30))
                guard process.isRunning else {  // the answer came from another server
                    ChildProcessRegistry.untrack(process.processIdentifier)
                    throw PortTaken()
                }
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Unavailable(description: "redis-server on port \(port) did not start within 30 s")
    }

    /// SIGKILL: the server vanishes mid-stream, like a crash.
    public func kill() {
        guard let process = lock.withLock({ self.process }) else { return }
        ChildExit.kill(process)
        ChildProcessRegistry.untrack(process.processIdentifier)
        lock.withLock { self.process = nil }
    }

    deinit {
        if let process {
            ChildExit.kill(process)
            ChildProcessRegistry.untrack(process.processIdentifier)
        }
    }

    /// Runs `redis-cli`-free raw commands for test set-up: sends inline commands over a socket.
    static func answersPing(port: Int) -> Bool {
        guard let connection = try? RawConnection(port: port), connection.send("PING\r\n") else { return false }
        let reply = connection.receiveBlocking(maximumBytes: 64, timeoutMilliseconds: 1000)
        // "+PONG" without a password; "-NOAUTH" with one: either way the server is up.
        return reply.first == UInt8(ascii: "+") || reply.first == UInt8(ascii: "-")
    }
}

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
