import AsyncHTTPClient
package import DalstonOutboundHTTP
package import Foundation
import NIOCore

/// Audio a client names by URL instead of uploading it (`audio_url`, ElevenLabs'
/// `cloud_storage_url`): `http(s)` fetched through the SSRF guard, `s3://bucket/key` read with
/// the server's credentials from the buckets the operator lists (`DALSTON_AUDIO_URL_S3_BUCKETS`),
/// never from the artifact store's own prefix (another tenant's audio). Bytes stream to the
/// caller as they arrive.
package struct RemoteAudioSource: Sendable {
    let http: GuardedHTTPClient
    let environment: [String: String]
    /// Buckets `s3://` URLs may name.
    let s3Buckets: Set<String>
    /// The artifact store's bucket and prefix when it is S3: never a source.
    let artifactLocation: (bucket: String, prefix: String)?

    package init(policy: AddressPolicy, environment: [String: String]) {
        http = GuardedHTTPClient(policy: policy)
        self.environment = environment
        s3Buckets = Set((environment["DALSTON_AUDIO_URL_S3_BUCKETS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        artifactLocation = environment["DALSTON_ARTIFACTS_URL"].flatMap(S3Location.parse).map { ($0.bucket, $0.key) }
    }

    /// Streams the audio at `text` to `receive`; returns a file name for it (the URL's last path
    /// component). Fails with `GuardedHTTPClient.Failure`s, or the receiver's own error.
    package func fetch(
        _ text: String, maximumBytes: Int, deadline: Duration, receive: ([UInt8]) async throws -> Void
    ) async throws -> String {
        if let (bucket, key) = S3Location.parse(text) {
            try await fetchObject(bucket: bucket, key: key, maximumBytes: maximumBytes, receive: receive)
            return Self.filename(key)
        }
        guard text.utf8.count <= 4096, let url = URL(string: text) else { throw GuardedHTTPClient.Failure.invalidURL("not a URL") }
        let answer = try await http.get(url, limits: .init(maximumBytes: maximumBytes, deadline: deadline), receive: receive)
        return Self.filename(answer.finalURL.path)
    }

    private func fetchObject(bucket: String, key: String, maximumBytes: Int, receive: ([UInt8]) async throws -> Void) async throws {
        guard s3Buckets.contains(bucket) else {
            throw GuardedHTTPClient.Failure.refused(
                s3Buckets.isEmpty
                    ? "s3:// URLs are not enabled on this server (the operator lists readable buckets in DALSTON_AUDIO_URL_S3_BUCKETS); send an https URL, a presigned one for private objects"
                    : "bucket \(bucket.prefix(63)) is not one this server reads audio from")
        }
        if let artifacts = artifactLocation, artifacts.bucket == bucket, key.hasPrefix(artifacts.prefix) {
            throw GuardedHTTPClient.Failure.refused("that key is inside the server's own artifact store")
        }
        guard !key.isEmpty, !key.split(separator: "/").contains("..") else { throw GuardedHTTPClient.Failure.invalidURL("the s3:// URL names no object") }
        let location: S3Location
        do {
            location = try S3Location.connection(environment, bucket: bucket)
        } catch {
            throw GuardedHTTPClient.Failure.unreachable("the server has no S3 credentials (\(error.description))")
        }
        let client = S3Client(location: location)
        let found: (object: S3Client.Object, body: HTTPClientResponse.Body)?
        do {
            found = try await client.get(key)
        } catch {
            throw GuardedHTTPClient.Failure.unreachable(error.description)
        }
        guard let (object, body) = found else { throw GuardedHTTPClient.Failure.httpStatus(404) }
        guard object.size <= maximumBytes else { throw GuardedHTTPClient.Failure.tooLarge(maximumBytes) }
        var received = 0
        for try await buffer in body {
            received += buffer.readableBytes
            guard received <= maximumBytes else { throw GuardedHTTPClient.Failure.tooLarge(maximumBytes) }
            try await receive(Array(buffer.readableBytesView))
        }
    }

    static func filename(_ path: String) -> String {
        let last = path.split(separator: "/").last.map(String.init) ?? ""
        let name = last.removingPercentEncoding ?? last
        return name.isEmpty ? "audio" : String(name.prefix(255))
    }
}
