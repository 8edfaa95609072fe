package import Foundation
#if canImport(Glibc)
import Glibc
#endif

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

    func directory(_ owner: ArtifactOwner) -> URL {
        root.appendingPathComponent(owner.collection, isDirectory: true).appendingPathComponent(Self.safeComponent(owner.id), isDirectory: true)
    }

    /// The file behind a reference (for tests and tools on the same machine).
    package func fileURL(_ reference: ArtifactReference) -> URL {
        directory(reference.owner).appendingPathComponent(Self.safeComponent(reference.name))
    }

    package func write(_ bytes: [UInt8], to reference: ArtifactReference) async throws(ArtifactError) {
        let writer = try newWriter(reference)
        try writer.appendNow(bytes)
        try writer.commitNow()
    }

    package func makeWriter(for reference: ArtifactReference) async throws(ArtifactError) -> any ArtifactWriter {
        try fileWriter(for: reference)
    }

    /// A writer usable without `await` (for callers that write local copies).
    package func fileWriter(for reference: ArtifactReference) throws(ArtifactError) -> any ArtifactWriter {
        try newWriter(reference)
    }

    private func newWriter(_ reference: ArtifactReference) throws(ArtifactError) -> FileArtifactWriter {
        let directory = directory(reference.owner)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritable(reference, reason: Self.reason(error))
        }
        return try FileArtifactWriter(
            reference: reference, target: fileURL(reference),
            temporary: directory.appendingPathComponent(".\(Self.safeComponent(reference.name).prefix(100)).\(UUID().uuidString).tmp"))
    }

    package func read(_ reference: ArtifactReference) async throws(ArtifactError) -> [UInt8] {
        let url = fileURL(reference)
        guard FileManager.default.fileExists(atPath: url.path) else { throw .notFound(reference) }
        do {
            return Array(try Data(contentsOf: url))
        } catch {
            throw .unreadable(reference, reason: Self.reason(error))
        }
    }

    package func localFile(_ reference: ArtifactReference) async throws(ArtifactError) -> URL {
        let url = fileURL(reference)
        guard FileManager.default.fileExists(atPath: url.path) else { throw .notFound(reference) }
        return url
    }

    package func open(_ reference: ArtifactReference) async throws(ArtifactError) -> ArtifactContents {
        let url = fileURL(reference)
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            if !FileManager.default.fileExists(atPath: url.path) { throw .notFound(reference) }
            throw .unreadable(reference, reason: Self.reason(error))
        }
        let size = (try? handle.seekToEnd()).map { Int($0) } ?? 0
        try? handle.seek(toOffset: 0)
        let chunks = AsyncThrowingStream<[UInt8], any Error> { continuation in
            let reading = Task {
                defer { try? handle.close() }
                do {
                    while !Task.isCancelled, let data = try handle.read(upToCount: Self.readChunkBytes), !data.isEmpty {
                        continuation.yield(Array(data))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: ArtifactError.unreadable(reference, reason: Self.reason(error)))
                }
            }
            continuation.onTermination = { _ in reading.cancel() }
        }
        return ArtifactContents(byteCount: size, chunks: chunks)
    }

    /// Bytes read at a time when an artifact is streamed.
    static let readChunkBytes = 256 * 1024

    package func size(of reference: ArtifactReference) async throws(ArtifactError) -> Int? {
        let attributes = try? FileManager.default.attributesOfItem(atPath: fileURL(reference).path)
        return attributes?[.size] as? Int
    }

    package func downloadURL(for reference: ArtifactReference, lifetime: Duration) -> URL? { nil }

    @discardableResult
    package func removeAll(of owner: ArtifactOwner) async throws(ArtifactError) -> Int {
        let folder = directory(owner)
        let count = (try? FileManager.default.contentsOfDirectory(atPath: folder.path).count) ?? 0
        try? FileManager.default.removeItem(at: folder)
        return count
    }

    @discardableResult
    package func removeAll(of owner: ArtifactOwner, except kept: Set<ArtifactReference>) async throws(ArtifactError) -> Int {
        let folder = directory(owner)
        let keptNames = Set(kept.filter { $0.owner == owner }.map { Self.safeComponent($0.name) })
        guard !keptNames.isEmpty else { return try await removeAll(of: owner) }
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !keptNames.contains(name) {
            if (try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))) != nil { removed += 1 }
        }
        return removed
    }

    @discardableResult
    package func removeAbandonedWrites(olderThan age: Duration) async throws(ArtifactError) -> Int {
        removeFiles(modifiedBefore: Date().addingTimeInterval(-age.seconds)) { $0.lastPathComponent.hasPrefix(".") && $0.pathExtension == "tmp" }
    }

    /// Sweeps every owner's directory (`jobs/<id>`, `sessions/<id>`): removes the files
    /// `matching` selects that were last modified before `cutoff` (each with its `companion`, if
    /// it names one), then the directories left empty; returns how many files were removed.
    package func removeFiles(modifiedBefore cutoff: Date, companion: (URL) -> URL? = { _ in nil }, matching: (URL) -> Bool) -> Int {
        var removed = 0
        for collection in ArtifactOwner.collections {
            let owners = root.appendingPathComponent(collection, isDirectory: true)
            for owner in (try? FileManager.default.contentsOfDirectory(at: owners, includingPropertiesForKeys: nil)) ?? [] {
                removed += Self.removeFiles(in: owner, modifiedBefore: cutoff, companion: companion, matching: matching)
                if (try? FileManager.default.contentsOfDirectory(atPath: owner.path))?.isEmpty == true { try? FileManager.default.removeItem(at: owner) }
            }
        }
        return removed
    }

    /// Removes the files of `directory` that `matching` selects and that were last modified before
    /// `cutoff` (each with its `companion`); returns how many.
    package static func removeFiles(
        in directory: URL, modifiedBefore cutoff: Date, companion: (URL) -> URL? = { _ in nil }, matching: (URL) -> Bool = { _ in true }
    ) -> Int {
        var removed = 0
        let files = (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.contentModificationDateKey])) ?? []
        for file in files where matching(file) {
            let modified = (try? file.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantFuture
            guard modified < cutoff else { continue }
            if let companion = companion(file) { try? FileManager.default.removeItem(at: companion) }
            if (try? FileManager.default.removeItem(at: file)) != nil { removed += 1 }
        }
        return removed
    }

    /// Ids are generated by Dalston, but never trust a path component: keep it to a safe alphabet.
    package static func safeComponent(_ text: String) -> String {
        let cleaned = String(text.unicodeScalars.map { scalar -> Character in
            let allowed = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "_" || scalar == "-" || scalar == "."
            return allowed ? Character(scalar) : "_"
        })
        return cleaned.isEmpty || cleaned.allSatisfy({ $0 == "." }) ? "_" : cleaned
    }

    /// The cause without the absolute path Foundation puts in its messages.
    package static func reason(_ error: any Error) -> String {
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

    deinit { discardNow() }

    func append(_ bytes: [UInt8]) async throws(ArtifactError) { try appendNow(bytes) }
    func commit() async throws(ArtifactError) { try commitNow() }
    func discard() async { discardNow() }

    func appendNow(_ bytes: [UInt8]) throws(ArtifactError) {
        var failure: ArtifactError?
        bytes.withUnsafeBytes { buffer in
            do throws(ArtifactError) { try appendNow(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    private func appendNow(_ bytes: UnsafeRawBufferPointer) throws(ArtifactError) {
        guard descriptor >= 0 else { throw .unwritable(reference, reason: "the writer was already closed") }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                discardNow()
                throw .unwritable(reference, reason: reason)
            }
            offset += written
        }
        byteCount += bytes.count
    }

    func commitNow() throws(ArtifactError) {
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

    func discardNow() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporary.path)
    }
}
