/// Builds a `multipart/form-data` body, for clients of the gateway (the CLI, benchmarks).
package struct MultipartFormBody: Sendable {
    package let boundary: String
    private var bytes: [UInt8] = []

    package init(boundary: String = "dalston-\(UInt64.random(in: 0...UInt64.max))") {
        self.boundary = boundary
    }

    /// The `Content-Type` header value to send with the body.
    package var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    package mutating func addField(_ name: String, _ value: String) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    package mutating func addFile(_ name: String, filename: String, contentType: String = "audio/wav", contents: [UInt8]) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n\r\n".utf8)
        bytes += contents
        bytes += Array("\r\n".utf8)
    }

    /// The complete body, closing delimiter included.
    package var encoded: [UInt8] { bytes + Array("--\(boundary)--\r\n".utf8) }
}
