import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a job's files (uploaded audio, prepared audio, word lists, the final transcript) live.
///
/// Services name files by `ArtifactReference` in records and messages, never by path: only the
/// store knows where the bytes are, so the filesystem store here can be joined by an object
/// store without touching the gateway, the orchestrator or the engines.
public protocol ArtifactStore: Sendable {
    /// Stores `bytes` under `reference`, replacing what was there; readers see the old bytes or
    /// the new ones, never a mix, and a failed write leaves nothing behind.
    func write(_ bytes: [UInt8], to reference: ArtifactReference) throws(ArtifactError)
    func read(_ reference: ArtifactReference) throws(ArtifactError) -> [UInt8]
    /// Deletes every artifact of a job (cancelled upload, deleted job). Missing ones are fine.
    func removeAll(ofJob jobID: String)
    /// Where the artifacts are, for start-up logs.
    var location: String { get }
}

/// The name of one artifact: `jobs/<job_id>/<name>`, the form records and messages carry.
public struct ArtifactReference: Sendable, Hashable, CustomStringConvertible {
    public let jobID: String
    public let name: String

    public init(jobID: String, name: String) {
        self.jobID = jobID
        self.name = name
    }

    /// Reads the `jobs/<job_id>/<name>` form; `nil` for anything else (a path, a URL).
    public init?(key: String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "jobs", !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        self.init(jobID: String(parts[1]), name: String(parts[2]))
    }

    public var key: String { "jobs/\(jobID)/\(name)" }
    public var description: String { key }
}

/// Why an artifact could not be stored or read. Messages name the artifact, never a server path.
public enum ArtifactError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(ArtifactReference)
    case unreadable(ArtifactReference, reason: String)
    case unwritable(ArtifactReference, reason: String)

    public var description: String {
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
public struct FileArtifactStore: ArtifactStore {
    public let root: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    /// `DALSTON_DATA_DIR`, or `./.dalston-data` when unset.
    public static func fromEnvironment(_ environment: [String: String]) -> FileArtifactStore {
        let path = environment["DALSTON_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".dalston-data"
        return FileArtifactStore(root: URL(fileURLWithPath: path, isDirectory: true))
    }

    public var location: String { root.path }

    func jobDirectory(_ jobID: String) -> URL {
        root.appendingPathComponent("jobs", isDirectory: true).appendingPathComponent(Self.safeComponent(jobID), isDirectory: true)
    }

    /// The file behind a reference (for tests and tools on the same machine).
    public func fileURL(_ reference: ArtifactReference) -> URL {
        jobDirectory(reference.jobID).appendingPathComponent(Self.safeComponent(reference.name))
    }

    public func write(_ bytes: [UInt8], to reference: ArtifactReference) throws(ArtifactError) {
        let directory = jobDirectory(reference.jobID)
        let target = fileURL(reference)
        let temporary = directory.appendingPathComponent(".\(Self.safeComponent(reference.name).prefix(100)).\(UUID().uuidString).tmp")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: temporary)
            // On disk before the rename makes it visible: a crash leaves the old bytes or the new.
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .unwritable(reference, reason: Self.reason(error))
        }
        guard rename(temporary.path, target.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw .unwritable(reference, reason: reason)
        }
    }

    public func read(_ reference: ArtifactReference) throws(ArtifactError) -> [UInt8] {
        let url = fileURL(reference)
        guard FileManager.default.fileExists(atPath: url.path) else { throw .notFound(reference) }
        do {
            return Array(try Data(contentsOf: url))
        } catch {
            throw .unreadable(reference, reason: Self.reason(error))
        }
    }

    public func removeAll(ofJob jobID: String) {
        try? FileManager.default.removeItem(at: jobDirectory(jobID))
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
    private static func reason(_ error: any Error) -> String {
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
