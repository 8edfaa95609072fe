import Crypto
import DalstonPipeline
import Foundation
import NIOCore

/// An object written piece by piece. Bytes go to a part file on this machine's disk (hashed as
/// they are written, as SigV4 needs the part's SHA-256 before it is sent); a full part (5 MiB) is
/// streamed from its file as one part of a multipart upload, begun with the first full part, and
/// its file deleted. One part is sent while the next fills, so receiving and sending overlap;
/// memory stays a few chunks whatever the size, and the disk holds at most two parts. An object smaller than a part is one `PUT` on commit. The upload is completed on `commit`
/// (the object appears at once, whole) and aborted on `discard` or any failure, so nothing
/// half-written is left (what a crash leaves, the sweep aborts: uploads and part files).
final class S3MultipartWriter: ArtifactWriter {
    let reference: ArtifactReference
    private(set) var byteCount = 0
    private let key: String
    private let client: S3Client
    private let partBytes: Int
    private let spoolDirectory: URL
    /// The part being filled: its file, open for writing.
    private var spool: (file: URL, handle: FileHandle)?
    private var partLength = 0
    private var hasher = SHA256()
    private var uploadID: String?
    private var parts: [(number: Int, eTag: String)] = []
    /// The part being sent while the next one fills.
    private var inFlight: (number: Int, task: Task<String, any Error>)?
    private var closed = false

    init(reference: ArtifactReference, key: String, client: S3Client, partBytes: Int, spoolDirectory: URL) {
        self.reference = reference
        self.key = key
        self.client = client
        self.partBytes = partBytes
        self.spoolDirectory = spoolDirectory
    }

    deinit { removeSpool() }

    func append(_ bytes: [UInt8]) async throws(ArtifactError) {
        guard !closed else { throw .unwritable(reference, reason: "the writer was already closed") }
        byteCount += bytes.count
        var offset = 0
        while offset < bytes.count {
            let taken = min(partBytes - partLength, bytes.count - offset)
            try spoolWrite(bytes[offset..<(offset + taken)])
            offset += taken
            if partLength == partBytes { try await sendPart() }
        }
    }

    func commit() async throws(ArtifactError) {
        guard !closed else { throw .unwritable(reference, reason: "the writer was already closed") }
        do throws(ArtifactError) {
            if uploadID != nil {
                if partLength > 0 || parts.isEmpty && inFlight == nil { try await sendPart() }
                try await awaitInFlight()
                guard let uploadID else { return }
                do throws(S3Error) {
                    try await client.completeMultipartUpload(key, uploadID: uploadID, parts: parts)
                } catch {
                    throw S3ArtifactStore.error(error, writing: reference)
                }
            } else {
                let part = try finishPart()
                defer { try? FileManager.default.removeItem(at: part.file) }
                do throws(S3Error) {
                    if part.length == 0 { try await client.put(key, body: ByteBuffer()) } else { try await client.put(key, spooled: part) }
                } catch {
                    throw S3ArtifactStore.error(error, writing: reference)
                }
            }
            closed = true
        } catch {
            await discard()
            throw error
        }
    }

    func discard() async {
        guard !closed else { return }
        closed = true
        removeSpool()
        if let inFlight {
            inFlight.task.cancel()
            _ = try? await inFlight.task.value
            self.inFlight = nil
        }
        if let uploadID {
            // A failure here leaves the upload to the sweep of abandoned uploads.
            try? await client.abortMultipartUpload(key, uploadID: uploadID)
        }
    }

    // MARK: The part file

    private func spoolWrite(_ bytes: ArraySlice<UInt8>) throws(ArtifactError) {
        do {
            if spool == nil {
                try FileManager.default.createDirectory(at: spoolDirectory, withIntermediateDirectories: true)
                let file = spoolDirectory.appendingPathComponent("part-\(UUID().uuidString)")
                guard FileManager.default.createFile(atPath: file.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
                spool = (file, try FileHandle(forWritingTo: file))
            }
            try spool?.handle.write(contentsOf: bytes)
        } catch {
            let reason = FileArtifactStore.reason(error)
            removeSpool()
            throw .unwritable(reference, reason: "this machine's part file: \(reason)")
        }
        hasher.update(data: bytes)
        partLength += bytes.count
    }

    /// The part filled so far, its file closed and its hash final; the next bytes start a new one.
    private func finishPart() throws(ArtifactError) -> SpooledPart {
        guard let spool else {
            return SpooledPart(file: spoolDirectory.appendingPathComponent("empty"), length: 0, sha256: SigV4Signer.payloadHash([UInt8]()))
        }
        do {
            try spool.handle.close()
        } catch {
            removeSpool()
            throw .unwritable(reference, reason: "this machine's part file: \(FileArtifactStore.reason(error))")
        }
        let part = SpooledPart(file: spool.file, length: partLength, sha256: SigV4Signer.hex(hasher.finalize()))
        self.spool = nil
        partLength = 0
        hasher = SHA256()
        return part
    }

    /// Starts sending the part filled so far (beginning the multipart upload with the first one),
    /// once the part before it has been sent: at most one part is in flight.
    private func sendPart() async throws(ArtifactError) {
        let part = try finishPart()
        try await awaitInFlight()
        let id: String
        do throws(S3Error) {
            if let uploadID {
                id = uploadID
            } else {
                id = try await client.createMultipartUpload(key)
                uploadID = id
            }
        } catch {
            try? FileManager.default.removeItem(at: part.file)
            await discard()
            throw S3ArtifactStore.error(error, writing: reference)
        }
        let number = parts.count + 1
        let client = client
        let key = key
        inFlight = (number, Task {
            defer { try? FileManager.default.removeItem(at: part.file) }
            return try await client.uploadPart(key, uploadID: id, number: number, spooled: part)
        })
    }

    /// Waits for the part in flight, recording its entity tag (or discarding the upload).
    private func awaitInFlight() async throws(ArtifactError) {
        guard let (number, task) = inFlight else { return }
        inFlight = nil
        do {
            parts.append((number, try await task.value))
        } catch {
            await discard()
            throw S3ArtifactStore.error(error as? S3Error ?? .unavailable(operation: "upload part", reason: "\(error)"), writing: reference)
        }
    }

    private func removeSpool() {
        guard let spool else { return }
        try? spool.handle.close()
        try? FileManager.default.removeItem(at: spool.file)
        self.spool = nil
        partLength = 0
        hasher = SHA256()
    }
}
