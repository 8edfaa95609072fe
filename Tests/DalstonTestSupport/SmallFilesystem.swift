public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tmpfs of a few hundred kilobytes mounted for one test: a disk that really fills up and
/// really turns read-only, so the gateway's answers to both are tested against the kernel's
/// own errors. Mounting needs root (CI runs as root); elsewhere the tests that need it skip,
/// except under `make test`/CI where that is a failure.
public final class SmallFilesystem: @unchecked Sendable {
    public let directory: URL

    public static var canMount: Bool { geteuid() == 0 && findExecutable(["/usr/bin/mount", "/bin/mount"]) != nil }
    public static var shouldRun: Bool { canMount || TestTools.areRequired }

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    public init(kilobytes: Int) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-small-fs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try await Self.mount(["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", directory.path])
    }

    /// Writes a file until the filesystem has no space left.
    public func fill() {
        let path = directory.appendingPathComponent("filler").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = FileHandle(forWritingAtPath: path)
        let block = Data(repeating: 0x55, count: 4096)
        while (try? handle?.write(contentsOf: block)) != nil {}
        try? handle?.close()
    }

    /// Remounts read-only, as a filesystem that hit an I/O error does.
    public func makeReadOnly() async throws {
        try await Self.mount(["-o", "remount,ro", directory.path])
    }

    private static func mount(_ arguments: [String]) async throws {
        guard let mount = findExecutable(["/usr/bin/mount", "/bin/mount"]) else { throw Unavailable(description: "mount is not installed") }
        let result = try await runProcess(mount, arguments: arguments)
        guard result.status == 0 else {
            throw Unavailable(description: "mount \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr); these tests need root")
        }
    }

    deinit {
        let path = directory.path
        let umount = findExecutable(["/usr/bin/umount", "/bin/umount"])
        if let umount {
            let process = Process()
            process.executableURL = umount
            process.arguments = ["-l", path]
            if (try? process.run()) != nil { ChildExit.waitBlocking(process) }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}
