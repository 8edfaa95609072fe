public import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs an executable to completion and collects its output, feeding it `input` on stdin.
///
/// The waiting happens on a thread of its own, never on the concurrency pool: that pool has as
/// many threads as cores (two on CI), and blocking them stalls every other test's tasks.
public func runProcess(
    _ executable: URL, arguments: [String], environment: [String: String]? = nil, input: Data? = nil
) async throws -> ProcessResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do {
                continuation.resume(returning: try runProcessBlocking(executable, arguments: arguments, environment: environment, input: input))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

private func runProcessBlocking(_ executable: URL, arguments: [String], environment: [String: String]?, input: Data?) throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    // Only the pipes that are used, each read end closed as soon as it is read: file handles
    // closed later, when deallocated on some other thread, race with other spawns (Foundation's
    // "Bad file descriptor" from Process.run at high concurrency, swiftlang/swift#57827).
    let stdin = input.map { _ in Pipe() }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin ?? FileHandle.nullDevice
    try process.run()
    if let input, let stdin {
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
    }
    // Read both pipes concurrently so a chatty child cannot fill one and block.
    let errData = LockedData()
    let errReader = Thread {
        errData.set(err.fileHandleForReading.readDataToEndOfFile())
        try? err.fileHandleForReading.close()
    }
    errReader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    try? out.fileHandleForReading.close()
    while !errData.isSet { usleep(1000) }
    guard let status = ChildExit.exitStatusBlocking(process) else {
        ChildExit.kill(process)
        throw ProcessDidNotEnd(executable: executable.path)
    }
    return ProcessResult(status: status, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData.value, as: UTF8.self))
}

public struct ProcessDidNotEnd: Error, CustomStringConvertible {
    public let executable: String
    public var description: String { "\(executable) had not ended a minute after closing its output; it was killed" }
}

/// Bytes handed from a reader thread to the thread that waits for them.
public final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    public init() {}
    public func set(_ value: Data) { lock.withLock { data = value } }
    public var isSet: Bool { lock.withLock { data != nil } }
    public var value: Data { lock.withLock { data ?? Data() } }
}

/// The first of `candidates` that is an executable file.
public func findExecutable(_ candidates: [String]) -> URL? {
    candidates.first { FileManager.default.isExecutableFile(atPath: $0) }.map(URL.init(fileURLWithPath:))
}

/// A loopback port that was free a moment ago (bind to port 0, read it back, release it).
public func freeTCPPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw PortUnavailable() }
    defer { close(descriptor) }
    var address = loopbackAddress(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(descriptor, pointer, length) == 0 else { return -1 }
            return getsockname(descriptor, pointer, &length)
        }
    }
    guard bound == 0 else { throw PortUnavailable() }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// `127.0.0.1:port` as the socket calls take it.
func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

public struct PortUnavailable: Error, CustomStringConvertible {
    public var description: String { "could not find a free loopback port" }
}

/// Runs `body`, then `teardown`, awaited, whether `body` threw or not: what a `defer` would do
/// if it could await (a `defer { Task { ... } }` leaves the teardown running after the test).
public func withTeardown<Result>(
    _ teardown: () async -> Void, isolation: isolated (any Actor)? = #isolation, run body: () async throws -> Result
) async throws -> Result {
    let result: Result
    do {
        result = try await body()
    } catch {
        await teardown()
        throw error
    }
    await teardown()
    return result
}

/// A value shared between a test (or benchmark) and the tasks it starts.
public final class Locked<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    public init(_ value: Value) { self.value = Mutex(value) }
    public func get() -> Value { value.withLock { $0 } }
    public func set(_ new: Value) { value.withLock { $0 = new } }
    public func withLock<Result>(_ body: (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
}
