import AsyncHTTPClient
package import DalstonPipeline
package import Foundation
import NIOCore

/// Artifacts as objects of an S3-compatible bucket (AWS S3, MinIO, SeaweedFS, Ceph...), so that
/// gateways, engines and realtime workers on different machines share them without a shared
/// disk: `<prefix>jobs/<job_id>/<name>` and `<prefix>sessions/<session_id>/<name>`.
///
/// Writes are single `PUT`s up to a part's size and multipart uploads above it, so an upload of
/// any size holds one part in memory; a writer that fails or is discarded aborts its upload, and
/// `removeAbandonedWrites` aborts those a crashed process left. Files that tools need on disk are
/// downloaded into `cache` (this machine's own data directory) and reused while the object's
/// entity tag is the same.
package struct S3ArtifactStore: ArtifactStore {
    package let client: S3Client
    /// This machine's copies of objects that tools read as files.
    package let cache: URL
    /// Bytes held before a part is sent (S3's smallest part is 5 MiB).
    package let partBytes: Int

    package init(client: S3Client, cache: URL, partBytes: Int = 5 << 20) {
        self.client = client
        self.cache = cache.standardizedFileURL
        self.partBytes = max(5 << 20, partBytes)
    }

    package var location: String { client.location.description }

    /// Where writers keep the part they are filling (on this machine's disk, not in memory).
    var spoolDirectory: URL { cache.appendingPathComponent(".parts", isDirectory: true) }

    /// How long a downloaded copy stays after its last use.
    static let copyLifetime: Duration = .seconds(900)

    /// The object key of an artifact.
    package func key(_ reference: ArtifactReference) -> String {
        ownerPrefix(reference.owner) + FileArtifactStore.safeComponent(reference.name)
    }

    private func ownerPrefix(_ owner: ArtifactOwner) -> String {
        "\(client.location.prefix)\(owner.collection)/\(FileArtifactStore.safeComponent(owner.id))/"
    }

    package func write(_ bytes: [UInt8], to reference: ArtifactReference) async throws(ArtifactError) {
        if bytes.count <= partBytes {
            do {
                try await client.put(key(reference), bytes: bytes)
            } catch {
                throw Self.error(error, writing: reference)
            }
            return
        }
        let writer = try await makeWriter(for: reference)
        do {
            try await writer.append(bytes)
            try await writer.commit()
        } catch {
            await writer.discard()
            throw error
        }
    }

    package func makeWriter(for reference: ArtifactReference) async throws(ArtifactError) -> any ArtifactWriter {
        S3MultipartWriter(reference: reference, key: key(reference), client: client, partBytes: partBytes, spoolDirectory: spoolDirectory)
    }

    package func read(_ reference: ArtifactReference) async throws(ArtifactError) -> [UInt8] {
        let contents = try await open(reference)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(contents.byteCount)
        do {
            for try await chunk in contents.chunks { bytes += chunk }
        } catch {
            throw .unavailable(operation: "read \(reference)", reason: "the download was cut off: \(S3Error.describe(error))")
        }
        return bytes
    }

    package func open(_ reference: ArtifactReference) async throws(ArtifactError) -> ArtifactContents {
        let found: (object: S3Client.Object, body: HTTPClientResponse.Body)?
        do {
            found = try await client.get(key(reference))
        } catch {
            throw Self.error(error, reading: reference)
        }
        guard let (object, body) = found else { throw .notFound(reference) }
        // Pulled one chunk at a time by the reader: a slow reader slows the download.
        let source = ChunkSource(body.makeAsyncIterator())
        let chunks = AsyncThrowingStream<[UInt8], any Error> {
            try await source.next()
        }
        return ArtifactContents(byteCount: object.size, chunks: chunks)
    }

    package func size(of reference: ArtifactReference) async throws(ArtifactError) -> Int? {
        do {
            return try await client.head(key(reference))?.size
        } catch {
            throw Self.error(error, reading: reference)
        }
    }

    package func localFile(_ reference: ArtifactReference) async throws(ArtifactError) -> URL {
        let object: S3Client.Object?
        do {
            object = try await client.head(key(reference))
        } catch {
            throw Self.error(error, reading: reference)
        }
        guard let object else { throw .notFound(reference) }
        let local = LocalCopies(root: cache)
        if let cached = local.file(reference, eTag: object.eTag) { return cached }
        let writer = try local.makeWriter(reference)
        do {
            let contents = try await open(reference)
            for try await chunk in contents.chunks { try await writer.append(chunk) }
            try await writer.commit()
        } catch {
            await writer.discard()
            if let error = error as? ArtifactError { throw error }
            throw .unavailable(operation: "download \(reference)", reason: S3Error.describe(error))
        }
        local.remember(reference, eTag: object.eTag)
        return local.url(reference)
    }

    package func downloadURL(for reference: ArtifactReference, lifetime: Duration) -> URL? {
        client.presignedGetURL(key(reference), lifetime: lifetime)
    }

    @discardableResult
    package func removeAll(of owner: ArtifactOwner) async throws(ArtifactError) -> Int {
        try await removeAll(of: owner, except: [])
    }

    @discardableResult
    package func removeAll(of owner: ArtifactOwner, except kept: Set<ArtifactReference>) async throws(ArtifactError) -> Int {
        let prefix = ownerPrefix(owner)
        let keptKeys = Set(kept.filter { $0.owner == owner }.map(key))
        var removed = 0
        do {
            for object in try await client.list(prefix: prefix) where !keptKeys.contains(object.key) {
                try await client.delete(object.key)
                removed += 1
            }
            // An upload still being written for this owner (a cancelled job) goes too.
            for upload in try await client.pendingUploads(prefix: prefix) where !keptKeys.contains(upload.key) {
                try await client.abortMultipartUpload(upload.key, uploadID: upload.uploadID)
            }
        } catch {
            throw Self.error(error, operation: "remove \(owner)")
        }
        _ = try? await LocalCopies(root: cache).removeAll(of: owner, except: kept)
        return removed
    }

    @discardableResult
    package func removeAbandonedWrites(olderThan age: Duration) async throws(ArtifactError) -> Int {
        let cutoff = Date().addingTimeInterval(-age.seconds)
        var aborted = 0
        do {
            for upload in try await client.pendingUploads(prefix: client.location.prefix) where (upload.initiated ?? .distantFuture) < cutoff {
                try await client.abortMultipartUpload(upload.key, uploadID: upload.uploadID)
                aborted += 1
            }
        } catch {
            throw Self.error(error, operation: "abort abandoned uploads")
        }
        // Downloaded copies unused for a quarter of an hour (or `age`, if shorter) go: a tool opens
        // its copy as soon as it has the path, so an older one serves nobody, and engines on
        // other machines never see the job's deletion. Needed again, it is downloaded again.
        let copyCutoff = Date().addingTimeInterval(-min(age, Self.copyLifetime).seconds)
        let removedCopies = LocalCopies(root: cache).removeFiles(olderThan: copyCutoff)
        // Part files of writers whose process died.
        let removedParts = FileArtifactStore.removeFiles(in: spoolDirectory, modifiedBefore: cutoff)
        return aborted + removedCopies + removedParts
    }

    static func error(_ error: S3Error, reading reference: ArtifactReference) -> ArtifactError {
        error.isUnavailable ? .unavailable(operation: "read \(reference)", reason: error.description) : .unreadable(reference, reason: error.description)
    }

    static func error(_ error: S3Error, writing reference: ArtifactReference) -> ArtifactError {
        error.isUnavailable ? .unavailable(operation: "store \(reference)", reason: error.description) : .unwritable(reference, reason: error.description)
    }

    static func error(_ error: S3Error, operation: String) -> ArtifactError {
        .unavailable(operation: operation, reason: error.description)
    }
}

/// The response body's iterator, pulled by one reader at a time (the stream calls `next` only
/// after the previous call returned), so sharing it with the stream's closure is safe.
private final class ChunkSource: @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ iterator: HTTPClientResponse.Body.AsyncIterator) {
        self.iterator = iterator
    }

    func next() async throws -> [UInt8]? {
        try await iterator.next().map { Array($0.readableBytesView) }
    }
}
