import Foundation
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
    let stdin = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    try process.run()
    if let input {
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
    }
    // Read both pipes concurrently so a chatty child cannot fill one and block.
    let errData = LockedData()
    let errReader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    errReader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errData.isSet { usleep(1000) }
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData.value, as: UTF8.self))
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
