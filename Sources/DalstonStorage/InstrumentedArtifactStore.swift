package import DalstonMetrics
package import DalstonPipeline
package import Foundation
import Tracing

/// Any artifact store with a span (`artifact_store.<operation>`) and metrics
/// (`dalston_artifact_store_*`) around each call, so a slow or failing store shows in the job's
/// trace and on the dashboards, whichever backend it is.
package struct InstrumentedArtifactStore: ArtifactStore {
    package let base: any ArtifactStore
    /// `file` or `s3`: the `backend` label.
    package let backend: String
    let instruments: Instruments

    package init(_ base: any ArtifactStore, backend: String, instruments: Instruments) {
        self.base = base
        self.backend = backend
        self.instruments = instruments
        let operations = ["write", "commit", "read", "open", "size", "local_file", "remove", "sweep"]
        instruments.startAtZero(DalstonMetric.artifactStoreRequests, operations.map { [("backend", backend), ("operation", $0), ("outcome", "success")] })
        instruments.startAtZero(DalstonMetric.artifactStoreBytes, [[("backend", backend), ("direction", "write")], [("backend", backend), ("direction", "read")]])
        instruments.startAtZero(DalstonMetric.artifactStoreAbandonedRemoved, [[("backend", backend)]])
    }

    package var location: String { base.location }

    package func write(_ bytes: [UInt8], to reference: ArtifactReference) async throws(ArtifactError) {
        try await measure("write", reference) { () async throws(ArtifactError) in try await base.write(bytes, to: reference) }
        instruments.increment(DalstonMetric.artifactStoreBytes, [("backend", backend), ("direction", "write")], by: Int64(bytes.count))
    }

    package func makeWriter(for reference: ArtifactReference) async throws(ArtifactError) -> any ArtifactWriter {
        InstrumentedWriter(base: try await base.makeWriter(for: reference), store: self)
    }

    package func read(_ reference: ArtifactReference) async throws(ArtifactError) -> [UInt8] {
        let bytes = try await measure("read", reference) { () async throws(ArtifactError) in try await base.read(reference) }
        instruments.increment(DalstonMetric.artifactStoreBytes, [("backend", backend), ("direction", "read")], by: Int64(bytes.count))
        return bytes
    }

    package func open(_ reference: ArtifactReference) async throws(ArtifactError) -> ArtifactContents {
        let contents = try await measure("open", reference) { () async throws(ArtifactError) in try await base.open(reference) }
        instruments.increment(DalstonMetric.artifactStoreBytes, [("backend", backend), ("direction", "read")], by: Int64(contents.byteCount))
        return contents
    }

    package func size(of reference: ArtifactReference) async throws(ArtifactError) -> Int? {
        try await measure("size", reference) { () async throws(ArtifactError) in try await base.size(of: reference) }
    }

    package func localFile(_ reference: ArtifactReference) async throws(ArtifactError) -> URL {
        try await measure("local_file", reference) { () async throws(ArtifactError) in try await base.localFile(reference) }
    }

    package func downloadURL(for reference: ArtifactReference, lifetime: Duration) -> URL? {
        base.downloadURL(for: reference, lifetime: lifetime)
    }

    @discardableResult
    package func removeAll(of owner: ArtifactOwner) async throws(ArtifactError) -> Int {
        try await measure("remove", key: owner.description) { () async throws(ArtifactError) in try await base.removeAll(of: owner) }
    }

    @discardableResult
    package func removeAll(of owner: ArtifactOwner, except kept: Set<ArtifactReference>) async throws(ArtifactError) -> Int {
        try await measure("remove", key: owner.description) { () async throws(ArtifactError) in try await base.removeAll(of: owner, except: kept) }
    }

    @discardableResult
    package func removeAbandonedWrites(olderThan age: Duration) async throws(ArtifactError) -> Int {
        let removed = try await measure("sweep", key: "") { () async throws(ArtifactError) in try await base.removeAbandonedWrites(olderThan: age) }
        instruments.increment(DalstonMetric.artifactStoreAbandonedRemoved, [("backend", backend)], by: Int64(removed))
        return removed
    }

    func measure<T>(_ operation: String, _ reference: ArtifactReference, _ body: () async throws(ArtifactError) -> T) async throws(ArtifactError) -> T {
        try await measure(operation, key: reference.key, body)
    }

    func measure<T>(_ operation: String, key: String, _ body: () async throws(ArtifactError) -> T) async throws(ArtifactError) -> T {
        let span = startSpan("artifact_store.\(operation)", ofKind: .client)
        span.attributes["dalston.artifact_store"] = backend
        if !key.isEmpty { span.attributes["dalston.artifact"] = key }
        let started = ContinuousClock.now
        defer {
            instruments.record(DalstonMetric.artifactStoreDuration, [("backend", backend), ("operation", operation)], duration: ContinuousClock.now - started)
            span.end()
        }
        do {
            let result = try await body()
            instruments.increment(DalstonMetric.artifactStoreRequests, [("backend", backend), ("operation", operation), ("outcome", "success")])
            return result
        } catch {
            let outcome = switch error {
            case .notFound: "not_found"
            case .unavailable: "unavailable"
            default: "error"
            }
            instruments.increment(DalstonMetric.artifactStoreRequests, [("backend", backend), ("operation", operation), ("outcome", outcome)])
            if outcome != "not_found" {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error, message: error.description))
            }
            throw error
        }
    }
}

/// A writer whose commit is measured as `commit`, with the bytes it wrote.
private final class InstrumentedWriter: ArtifactWriter {
    let base: any ArtifactWriter
    let store: InstrumentedArtifactStore

    init(base: any ArtifactWriter, store: InstrumentedArtifactStore) {
        self.base = base
        self.store = store
    }

    var reference: ArtifactReference { base.reference }
    var byteCount: Int { base.byteCount }

    func append(_ bytes: [UInt8]) async throws(ArtifactError) {
        try await base.append(bytes)
    }

    func commit() async throws(ArtifactError) {
        let base = base
        try await store.measure("commit", reference) { () async throws(ArtifactError) in try await base.commit() }
        store.instruments.increment(DalstonMetric.artifactStoreBytes, [("backend", store.backend), ("direction", "write")], by: Int64(byteCount))
    }

    func discard() async {
        await base.discard()
    }
}
