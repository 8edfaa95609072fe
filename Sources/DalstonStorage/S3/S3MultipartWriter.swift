import DalstonPipeline

/// An object written piece by piece: bytes are held until a part's worth has arrived, then sent
/// as one part of a multipart upload (begun with the first full part), so memory stays one part
/// whatever the size; an object smaller than a part is one `PUT` on commit. The upload is
/// completed on `commit` (the object appears at once, whole) and aborted on `discard` or any
/// failure, so nothing half-written is left (what a crash leaves, the sweep aborts).
final class S3MultipartWriter: ArtifactWriter {
    let reference: ArtifactReference
    private(set) var byteCount = 0
    private let key: String
    private let client: S3Client
    private let partBytes: Int
    private var pending: [UInt8] = []
    private var uploadID: String?
    private var parts: [(number: Int, eTag: String)] = []
    private var closed = false

    init(reference: ArtifactReference, key: String, client: S3Client, partBytes: Int) {
        self.reference = reference
        self.key = key
        self.client = client
        self.partBytes = partBytes
    }

    func append(_ bytes: [UInt8]) async throws(ArtifactError) {
        guard !closed else { throw .unwritable(reference, reason: "the writer was already closed") }
        if pending.isEmpty && bytes.count < partBytes {
            pending = bytes
        } else {
            pending += bytes
        }
        byteCount += bytes.count
        while pending.count >= partBytes {
            let part = Array(pending.prefix(partBytes))
            pending.removeFirst(partBytes)
            try await send(part)
        }
    }

    func commit() async throws(ArtifactError) {
        guard !closed else { throw .unwritable(reference, reason: "the writer was already closed") }
        do throws(S3Error) {
            if let uploadID {
                if !pending.isEmpty || parts.isEmpty { try await sendPart(pending, uploadID: uploadID) }
                try await client.completeMultipartUpload(key, uploadID: uploadID, parts: parts)
            } else {
                try await client.put(key, bytes: pending)
            }
            closed = true
            pending = []
        } catch {
            await discard()
            throw S3ArtifactStore.error(error, writing: reference)
        }
    }

    func discard() async {
        guard !closed else { return }
        closed = true
        pending = []
        if let uploadID {
            // A failure here leaves the upload to the sweep of abandoned uploads.
            try? await client.abortMultipartUpload(key, uploadID: uploadID)
        }
    }

    private func send(_ part: [UInt8]) async throws(ArtifactError) {
        do throws(S3Error) {
            let id: String
            if let uploadID {
                id = uploadID
            } else {
                id = try await client.createMultipartUpload(key)
                uploadID = id
            }
            try await sendPart(part, uploadID: id)
        } catch {
            await discard()
            throw S3ArtifactStore.error(error, writing: reference)
        }
    }

    private func sendPart(_ part: [UInt8], uploadID: String) async throws(S3Error) {
        let number = parts.count + 1
        let eTag = try await client.uploadPart(key, uploadID: uploadID, number: number, bytes: part)
        parts.append((number, eTag))
    }
}
