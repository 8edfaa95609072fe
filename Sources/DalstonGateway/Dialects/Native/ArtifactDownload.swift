import DalstonPipeline
import HTTPTypes
import Hummingbird
import NIOCore

/// An artifact sent to the client as it is read from the store: memory stays a few chunks
/// whatever the file's size, and a client that reads slowly slows the reading (the writer waits).
enum ArtifactDownload {
    static func response(_ store: any ArtifactStore, _ reference: ArtifactReference, headers: HTTPFields) async throws -> Response {
        let contents = try await store.open(reference)
        let body = ResponseBody(contentLength: contents.byteCount) { writer in
            for try await chunk in contents.chunks {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
