package import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a job's files (uploaded audio, prepared audio, word lists, the final transcript) live.
///
/// Services name files by `ArtifactReference` in records and messages, never by path: only the
/// store knows where the bytes are, so the filesystem store here can be joined by an object
/// store without touching the gateway, the orchestrator or the engines.
package protocol ArtifactStore: Sendable {
    /// Stores `bytes` under `reference`, replacing what was there; readers see the old bytes or
    /// the new ones, never a mix, and a failed write leaves nothing behind.
    func write(_ bytes: [UInt8], to reference: ArtifactReference) throws(ArtifactError)
    /// Opens an artifact for writing piece by piece (an upload streamed from the network), with
    /// the same guarantees as `write`: nothing is visible under `reference` until `commit`.
    func makeWriter(for reference: ArtifactReference) throws(ArtifactError) -> any ArtifactWriter
    func read(_ reference: ArtifactReference) throws(ArtifactError) -> [UInt8]
    /// A file on this machine holding the artifact, for tools that read files (FFmpeg): the
    /// store's own file here; a store elsewhere would download a copy.
    func localFile(_ reference: ArtifactReference) throws(ArtifactError) -> URL
    /// Deletes every artifact of a job (cancelled upload, deleted job). Missing ones are fine.
    func removeAll(ofJob jobID: String)
    /// Deletes a job's artifacts but `kept` (a finished job's working files, not its
    /// transcript); returns how many were removed.
    @discardableResult
    func removeAll(ofJob jobID: String, except kept: Set<ArtifactReference>) -> Int
    /// Deletes what writers left half-done when their process died (temporary files older than
    /// `age`, and job directories left empty); returns how many files were removed.
    @discardableResult
    func removeAbandonedWrites(olderThan age: Duration) -> Int
    /// Where the artifacts are, for start-up logs.
    var location: String { get }
}

/// An artifact being written: appended to, then committed (made visible at once) or discarded.
/// Dropping a writer without committing discards what was written.
package protocol ArtifactWriter: AnyObject {
    var reference: ArtifactReference { get }
    /// Bytes appended so far.
    var byteCount: Int { get }
    func append(_ bytes: UnsafeRawBufferPointer) throws(ArtifactError)
    func commit() throws(ArtifactError)
    func discard()
}

extension ArtifactWriter {
    package func append(_ bytes: some Collection<UInt8>) throws(ArtifactError) {
        var failure: ArtifactError?
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            do throws(ArtifactError) { try append(UnsafeRawBufferPointer(buffer)) } catch { failure = error }
        }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { buffer in
                do throws(ArtifactError) { try append(buffer) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }
}

/// The name of one artifact: `jobs/<job_id>/<name>`, the form records and messages carry.
package struct ArtifactReference: Sendable, Hashable, CustomStringConvertible {
    package let jobID: String
    package let name: String

    package init(jobID: String, name: String) {
        self.jobID = jobID
        self.name = name
    }

    /// Reads the `jobs/<job_id>/<name>` form; `nil` for anything else (a path, a URL).
    package init?(key: String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "jobs", !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        self.init(jobID: String(parts[1]), name: String(parts[2]))
    }

    package var key: String { "jobs/\(jobID)/\(name)" }
    package var description: String { key }
}

/// Why an artifact could not be stored or read. Messages name the artifact, never a server path.
package enum ArtifactError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(ArtifactReference)
    case unreadable(ArtifactReference, reason: String)
    case unwritable(ArtifactReference, reason: String)

    /// The disk is full (`ENOSPC`): the caller should say so (HTTP 507) rather than "try again".
    package var isOutOfSpace: Bool {
        if case .unwritable(_, let reason) = self { return reason.lowercased().contains("no space left") }
        return false
    }

    package var description: String {
        switch self {
        case .notFound(let reference): "artifact \(reference) does not exist"
        case .unreadable(let reference, let reason): "artifact \(reference) cannot be read: \(reason)"
        case .unwritable(let reference, let reason): "artifact \(reference) cannot be stored: \(reason)"
        }
    }
}

/// Artifacts as files under a data directory (`DALSTON_DATA_DIR`): `<root>/jobs/<job_id>/<name>`.
/// Writes go to a temporary file in the same directory, are flushed to disk (`fsync`) and renamed
/// over the target (`rename(2)`: atomic, and overwriting an existing artifact, as a redelivered
/// task does, never loses it); a failed write removes its temporary file.
package struct FileArtifactStore: ArtifactStore {
    package let root: URL

    package init(root: URL) {
        self.root = root.standardizedFileURL
    }

    /// `DALSTON_DATA_DIR`, or `./.dalston-data` when unset.
    package static func fromEnvironment(_ environment: [String: String]) -> FileArtifactStore {
        let path = environment["DALSTON_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".dalston-data"
        return FileArtifactStore(root: URL(fileURLWithPath: path, isDirectory: true))
    }

    package var location: String { root.path }

    func jobDirectory(_ jobID: String) -> URL {
        root.appendingPathComponent("jobs", isDirectory: true).appendingPathComponent(Self.safeComponent(jobID), isDirectory: true)
    }

    /// The file behind a reference (for tests and tools on the same machine).
    package func fileURL(_ reference: ArtifactReference) -> URL {
        jobDirectory(reference.jobID).appendingPathComponent(Self.safeComponent(reference.name))
    }

    package func write(_ bytes: [UInt8], to reference: ArtifactReference) throws(ArtifactError) {
        let writer = try makeWriter(for: reference)
        try writer.append(bytes)
        try writer.commit()
    }

    package func makeWriter(for reference: ArtifactReference) throws(ArtifactError) -> any ArtifactWriter {
        let directory = jobDirectory(reference.jobID)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritable(reference, reason: Self.reason(error))
        }
        return try FileArtifactWriter(
            reference: reference, target: fileURL(reference),
            temporary: directory.appendingPathComponent(".\(Self.safeComponent(reference.name).prefix(100)).\(UUID().uuidString).tmp"))
    }

    package func read(_ reference: ArtifactReference) throws(ArtifactError) -> [UInt8] {
        let url = fileURL(reference)
        guard FileManager.default.fileExists(atPath: url.path) else { throw .notFound(reference) }
        do {
            return Array(try Data(contentsOf: url))
        } catch {
            throw .unreadable(reference, reason: Self.reason(error))
        }
    }

    package func localFile(_ reference: ArtifactReference) throws(ArtifactError) -> URL {
        let url = fileURL(reference)
        guard FileManager.default.fileExists(atPath: url.path) else { throw .notFound(reference) }
        return url
    }

    package func removeAll(ofJob jobID: String) {
        try? FileManager.default.removeItem(at: jobDirectory(jobID))
    }

    @discardableResult
    package func removeAll(ofJob jobID: String, except kept: Set<ArtifactReference>) -> Int {
        let directory = jobDirectory(jobID)
        let keptNames = Set(kept.filter { $0.jobID == jobID }.map { Self.safeComponent($0.name) })
        guard !keptNames.isEmpty else {
            let count = (try? FileManager.default.contentsOfDirectory(atPath: directory.path).count) ?? 0
            removeAll(ofJob: jobID)
            return count
        }
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where !keptNames.contains(name) {
            if (try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))) != nil { removed += 1 }
        }
        return removed
    }

    @discardableResult
    package func removeAbandonedWrites(olderThan age: Duration) -> Int {
        let jobs = root.appendingPathComponent("jobs", isDirectory: true)
        let cutoff = Date().addingTimeInterval(-age.seconds)
        var removed = 0
        for job in (try? FileManager.default.contentsOfDirectory(at: jobs, includingPropertiesForKeys: nil)) ?? [] {
            let files = (try? FileManager.default.contentsOfDirectory(at: job, includingPropertiesForKeys: [.contentModificationDateKey])) ?? []
            for file in files where file.lastPathComponent.hasPrefix(".") && file.pathExtension == "tmp" {
                let modified = (try? file.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantFuture
                if modified < cutoff, (try? FileManager.default.removeItem(at: file)) != nil { removed += 1 }
            }
            if (try? FileManager.default.contentsOfDirectory(atPath: job.path))?.isEmpty == true { try? FileManager.default.removeItem(at: job) }
        }
        return removed
    }

    /// Ids are generated by Dalston, but never trust a path component: keep it to a safe alphabet.
    static func safeComponent(_ text: String) -> String {
        let cleaned = String(text.unicodeScalars.map { scalar -> Character in
            let allowed = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "_" || scalar == "-" || scalar == "."
            return allowed ? Character(scalar) : "_"
        })
        return cleaned.isEmpty || cleaned.allSatisfy({ $0 == "." }) ? "_" : cleaned
    }

    /// The cause without the absolute path Foundation puts in its messages.
    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        switch nsError.code {
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return "permission denied"
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or directory"
        default: return "I/O error (\(nsError.domain) \(nsError.code))"
        }
    }
}

/// A temporary file next to the target, written with `write(2)`, flushed with `fsync` and renamed
/// over the target on commit; removed when discarded or dropped uncommitted.
final class FileArtifactWriter: ArtifactWriter {
    let reference: ArtifactReference
    private(set) var byteCount = 0
    private let target: URL
    private let temporary: URL
    private var descriptor: Int32

    init(reference: ArtifactReference, target: URL, temporary: URL) throws(ArtifactError) {
        self.reference = reference
        self.target = target
        self.temporary = temporary
        descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .unwritable(reference, reason: String(cString: strerror(errno))) }
    }

    deinit { discard() }

    func append(_ bytes: UnsafeRawBufferPointer) throws(ArtifactError) {
        guard descriptor >= 0 else { throw .unwritable(reference, reason: "the writer was already closed") }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                discard()
                throw .unwritable(reference, reason: reason)
            }
            offset += written
        }
        byteCount += bytes.count
    }

    func commit() throws(ArtifactError) {
        guard descriptor >= 0 else { throw .unwritable(reference, reason: "the writer was already closed") }
        // On disk before the rename makes it visible: a crash leaves the old bytes or the new.
        let synced = fsync(descriptor) == 0
        let syncError = errno
        let closed = close(descriptor) == 0
        let closeError = errno
        descriptor = -1
        guard synced, closed else {
            unlink(temporary.path)
            throw .unwritable(reference, reason: String(cString: strerror(synced ? closeError : syncError)))
        }
        guard rename(temporary.path, target.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw .unwritable(reference, reason: reason)
        }
    }

    func discard() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporary.path)
    }
}
