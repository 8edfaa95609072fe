package import Foundation

/// Where a job's files (uploaded audio, prepared audio, word lists, the final transcript) and a
/// realtime session's recordings live.
///
/// Services name files by `ArtifactReference` in records and messages, never by path: only the
/// store knows where the bytes are, so the same gateway, orchestrator and engines run on a local
/// data directory (`FileArtifactStore`) or on an S3-compatible bucket shared by several machines.
/// Every call may cross the network, so every call is `async`, and failures are `ArtifactError`s
/// that say whether the store was unreachable (retry later) or the artifact is gone.
package protocol ArtifactStore: Sendable {
    /// Stores `bytes` under `reference`, replacing what was there; readers see the old bytes or
    /// the new ones, never a mix, and a failed write leaves nothing behind.
    func write(_ bytes: [UInt8], to reference: ArtifactReference) async throws(ArtifactError)
    /// Opens an artifact for writing piece by piece (an upload streamed from the network), with
    /// the same guarantees as `write`: nothing is visible under `reference` until `commit`.
    func makeWriter(for reference: ArtifactReference) async throws(ArtifactError) -> any ArtifactWriter
    /// The whole artifact in memory: for the small ones (word lists, transcripts).
    func read(_ reference: ArtifactReference) async throws(ArtifactError) -> [UInt8]
    /// The artifact as a stream of chunks, for large ones (audio downloads): memory stays a few
    /// chunks whatever the size.
    func open(_ reference: ArtifactReference) async throws(ArtifactError) -> ArtifactContents
    /// The artifact's size in bytes, `nil` when there is none.
    func size(of reference: ArtifactReference) async throws(ArtifactError) -> Int?
    /// A file on this machine holding the artifact, for tools that read files (FFmpeg, the
    /// runners): the store's own file for local storage, a downloaded copy for object storage
    /// (removed with the job's artifacts or by the abandoned-writes sweep).
    func localFile(_ reference: ArtifactReference) async throws(ArtifactError) -> URL
    /// A URL from which a client may download the artifact for `lifetime` without credentials
    /// (S3 presigned), or `nil` when the store has no such thing (local files are streamed).
    func downloadURL(for reference: ArtifactReference, lifetime: Duration) -> URL?
    /// Deletes every artifact of an owner (cancelled upload, deleted job, purged session);
    /// missing ones are fine; returns how many were removed.
    @discardableResult
    func removeAll(of owner: ArtifactOwner) async throws(ArtifactError) -> Int
    /// Deletes an owner's artifacts but `kept` (a finished job's working files, not its
    /// transcript); returns how many were removed.
    @discardableResult
    func removeAll(of owner: ArtifactOwner, except kept: Set<ArtifactReference>) async throws(ArtifactError) -> Int
    /// Deletes what writers left half-done when their process died (temporary files, multipart
    /// uploads never completed, downloaded copies) older than `age`; returns how many.
    @discardableResult
    func removeAbandonedWrites(olderThan age: Duration) async throws(ArtifactError) -> Int
    /// Where the artifacts are, for start-up logs (a path or `s3://bucket/prefix`, never secrets).
    var location: String { get }
}

extension ArtifactStore {
    /// Deletes every artifact of a job.
    @discardableResult
    package func removeAll(ofJob jobID: String) async throws(ArtifactError) -> Int {
        try await removeAll(of: .job(jobID))
    }

    /// Deletes a job's artifacts but `kept`.
    @discardableResult
    package func removeAll(ofJob jobID: String, except kept: Set<ArtifactReference>) async throws(ArtifactError) -> Int {
        try await removeAll(of: .job(jobID), except: kept)
    }

    /// Whether the artifact exists (a store that cannot be reached says so by throwing).
    package func exists(_ reference: ArtifactReference) async throws(ArtifactError) -> Bool {
        try await size(of: reference) != nil
    }
}

/// An artifact being written: appended to, then committed (made visible at once) or discarded.
/// A writer dropped without `commit` or `discard` leaves at most a temporary piece that
/// `removeAbandonedWrites` clears; callers discard on every failure path.
package protocol ArtifactWriter: AnyObject {
    var reference: ArtifactReference { get }
    /// Bytes appended so far.
    var byteCount: Int { get }
    /// Appends bytes (the writer may keep the array: arrays are copied only when changed).
    func append(_ bytes: [UInt8]) async throws(ArtifactError)
    func commit() async throws(ArtifactError)
    /// Drops what was written; never throws (a failure to clean up is the sweep's to finish).
    func discard() async
}

/// An artifact opened for reading: its size and its bytes as they arrive.
package struct ArtifactContents: Sendable {
    package let byteCount: Int
    package let chunks: AsyncThrowingStream<[UInt8], any Error>

    package init(byteCount: Int, chunks: AsyncThrowingStream<[UInt8], any Error>) {
        self.byteCount = byteCount
        self.chunks = chunks
    }
}

/// Whose artifacts: a batch job's or a realtime session's (they are purged separately).
package enum ArtifactOwner: Sendable, Hashable, CustomStringConvertible {
    case job(String)
    case session(String)

    /// The first part of the key: `jobs` or `sessions`.
    package var collection: String {
        switch self {
        case .job: "jobs"
        case .session: "sessions"
        }
    }

    package var id: String {
        switch self {
        case .job(let id), .session(let id): id
        }
    }

    package var description: String { "\(collection)/\(id)" }

    /// Every `collection`, for sweeps that walk them all.
    package static let collections = ["jobs", "sessions"]

    init?(collection: Substring, id: String) {
        switch collection {
        case "jobs": self = .job(id)
        case "sessions": self = .session(id)
        default: return nil
        }
    }
}

/// The name of one artifact: `jobs/<job_id>/<name>` or `sessions/<session_id>/<name>`, the form
/// records and messages carry.
package struct ArtifactReference: Sendable, Hashable, CustomStringConvertible {
    package let owner: ArtifactOwner
    package let name: String

    package init(jobID: String, name: String) {
        self.init(owner: .job(jobID), name: name)
    }

    package init(owner: ArtifactOwner, name: String) {
        self.owner = owner
        self.name = name
    }

    /// Reads the `jobs/<job_id>/<name>` (or `sessions/…`) form; `nil` for anything else (a path, a URL).
    package init?(key: String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty,
              let owner = ArtifactOwner(collection: parts[0], id: String(parts[1])) else { return nil }
        self.init(owner: owner, name: String(parts[2]))
    }

    /// The owning job's id (a session's id for a session's artifact).
    package var jobID: String { owner.id }

    package var key: String { "\(owner.collection)/\(owner.id)/\(name)" }
    package var description: String { key }
}

/// Why an artifact could not be stored or read. Messages name the artifact, never a server path
/// or a credential.
package enum ArtifactError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(ArtifactReference)
    case unreadable(ArtifactReference, reason: String)
    case unwritable(ArtifactReference, reason: String)
    /// The store did not answer, or answered with a server error, in time: the operation may
    /// succeed later (HTTP 503 with `Retry-After`, a task retried).
    case unavailable(operation: String, reason: String)

    /// The disk is full (`ENOSPC`): the caller should say so (HTTP 507) rather than "try again".
    package var isOutOfSpace: Bool {
        if case .unwritable(_, let reason) = self { return reason.lowercased().contains("no space left") }
        return false
    }

    /// The store could not be reached: retrying later may work.
    package var isUnavailable: Bool {
        if case .unavailable = self { return true }
        return false
    }

    package var description: String {
        switch self {
        case .notFound(let reference): "artifact \(reference) does not exist"
        case .unreadable(let reference, let reason): "artifact \(reference) cannot be read: \(reason)"
        case .unwritable(let reference, let reason): "artifact \(reference) cannot be stored: \(reason)"
        case .unavailable(let operation, let reason): "the artifact store is unavailable (\(operation)): \(reason)"
        }
    }
}
