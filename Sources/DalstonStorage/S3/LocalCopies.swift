import DalstonPipeline
import Foundation

/// This machine's downloaded copies of objects, for tools that read files (FFmpeg, the model
/// runners): a file store under the cache directory, each copy beside the entity tag it was
/// downloaded at (`<name>.etag`), so a rewritten object is downloaded again.
struct LocalCopies {
    let files: FileArtifactStore

    init(root: URL) {
        files = FileArtifactStore(root: root)
    }

    func url(_ reference: ArtifactReference) -> URL { files.fileURL(reference) }

    private func tagFile(_ reference: ArtifactReference) -> URL {
        files.fileURL(reference).appendingPathExtension("etag")
    }

    /// The copy, if there is one of the object at `eTag`.
    func file(_ reference: ArtifactReference, eTag: String) -> URL? {
        let copy = url(reference)
        guard !eTag.isEmpty, FileManager.default.fileExists(atPath: copy.path),
              let tag = try? String(contentsOf: tagFile(reference), encoding: .utf8), tag == eTag else { return nil }
        // Touched, so the sweep of old copies keeps the ones in use.
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: copy.path)
        return copy
    }

    func makeWriter(_ reference: ArtifactReference) throws(ArtifactError) -> any ArtifactWriter {
        try files.fileWriter(for: reference)
    }

    func remember(_ reference: ArtifactReference, eTag: String) {
        try? Data(eTag.utf8).write(to: tagFile(reference), options: .atomic)
    }

    func removeAll(of owner: ArtifactOwner, except kept: Set<ArtifactReference>) async throws(ArtifactError) -> Int {
        try await files.removeAll(of: owner, except: kept.union(kept.map { ArtifactReference(owner: $0.owner, name: $0.name + ".etag") }))
    }

    /// Deletes copies (and half-written downloads) not used since `cutoff`, with their tags.
    func removeFiles(olderThan cutoff: Date) -> Int {
        files.removeFiles(modifiedBefore: cutoff, companion: { $0.appendingPathExtension("etag") }) { $0.pathExtension != "etag" }
    }
}
