import AsyncHTTPClient
import DalstonCore
package import Foundation
import NIOCore
import NIOHTTP1

/// The S3 operations the artifact store needs, signed with SigV4, each with a bounded time:
/// objects (put, get as a stream, head, delete, list) and multipart uploads (create, upload a
/// part, complete, abort, list the unfinished).
package struct S3Client: Sendable {
    package let location: S3Location
    let signer: SigV4Signer
    /// Longest wait for one small request (metadata, a part, a delete).
    let requestTimeout: Duration
    /// Longest wait for a whole object to stream (a download of hours of audio).
    let transferTimeout: Duration

    package init(location: S3Location, requestTimeout: Duration = .seconds(30), transferTimeout: Duration = .seconds(3600)) {
        self.location = location
        self.signer = SigV4Signer(credentials: location.credentials, region: location.region)
        self.requestTimeout = requestTimeout
        self.transferTimeout = transferTimeout
    }

    /// An object's key and size.
    package struct Object: Sendable, Equatable {
        package let key: String
        package let size: Int
        package let eTag: String
    }

    /// A multipart upload that was begun and neither completed nor aborted.
    package struct PendingUpload: Sendable, Equatable {
        package let key: String
        package let uploadID: String
        package let initiated: Date?
    }

    // MARK: Objects

    package func put(_ key: String, bytes: [UInt8]) async throws(S3Error) {
        try await put(key, body: ByteBuffer(bytes: bytes))
    }

    /// `PUT` of a buffer as it is (no copy).
    func put(_ key: String, body: ByteBuffer) async throws(S3Error) {
        _ = try await send("PUT", key: key, body: .buffer(body), expecting: [200])
    }

    /// `PUT` of a part spooled to a local file, streamed from it.
    func put(_ key: String, spooled part: SpooledPart) async throws(S3Error) {
        let response = try await execute("PUT", key: key, query: [], body: .file(part), timeout: requestTimeout * 4)
        guard response.status == .ok else { throw await failure(response, operation: "put object") }
    }

    /// The object's size, entity tag and bytes as they arrive; `nil` when there is no such object.
    func get(_ key: String) async throws(S3Error) -> (object: Object, body: HTTPClientResponse.Body)? {
        let response = try await execute("GET", key: key, query: [], body: nil, timeout: transferTimeout)
        if response.status == .notFound { return nil }
        guard response.status == .ok else { throw await failure(response, operation: "get") }
        let size = response.headers.first(name: "content-length").flatMap(Int.init) ?? 0
        return (Object(key: key, size: size, eTag: response.headers.first(name: "etag") ?? ""), response.body)
    }

    package func head(_ key: String) async throws(S3Error) -> Object? {
        let response = try await execute("HEAD", key: key, query: [], body: nil, timeout: requestTimeout)
        if response.status == .notFound { return nil }
        guard response.status == .ok else { throw await failure(response, operation: "head") }
        return Object(key: key, size: response.headers.first(name: "content-length").flatMap(Int.init) ?? 0, eTag: response.headers.first(name: "etag") ?? "")
    }

    /// Deletes one object; one that is not there is fine (S3 answers 204 either way).
    package func delete(_ key: String) async throws(S3Error) {
        _ = try await send("DELETE", key: key, expecting: [200, 204, 404])
    }

    /// Every object whose key starts with `prefix`, following continuation tokens.
    package func list(prefix: String) async throws(S3Error) -> [Object] {
        var objects: [Object] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let body = try await send("GET", key: nil, query: query, expecting: [200])
            for record in S3XML.records(named: "Contents", in: body) {
                guard let key = record["Key"] else { continue }
                objects.append(Object(key: key, size: record["Size"].flatMap(Int.init) ?? 0, eTag: record["ETag"] ?? ""))
            }
            token = S3XML.value(of: "IsTruncated", in: body) == "true" ? S3XML.value(of: "NextContinuationToken", in: body) : nil
        } while token != nil
        return objects
    }

    /// Whether the bucket answers to these credentials (for start-up and readiness).
    package func checkBucket() async throws(S3Error) {
        _ = try await send("HEAD", key: nil, expecting: [200])
    }

    // MARK: Multipart uploads

    package func createMultipartUpload(_ key: String) async throws(S3Error) -> String {
        let body = try await send("POST", key: key, query: [("uploads", "")], expecting: [200])
        guard let id = S3XML.value(of: "UploadId", in: body), !id.isEmpty else {
            throw .failed(operation: "create multipart upload", status: 200, code: "", message: "the answer named no UploadId")
        }
        return id
    }

    /// Uploads part `number` (from 1); returns its entity tag, which completing names.
    func uploadPart(_ key: String, uploadID: String, number: Int, spooled part: SpooledPart) async throws(S3Error) -> String {
        let response = try await execute(
            "PUT", key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)], body: .file(part), timeout: requestTimeout * 4)
        guard response.status == .ok else { throw await failure(response, operation: "upload part") }
        return response.headers.first(name: "etag") ?? ""
    }

    package func completeMultipartUpload(_ key: String, uploadID: String, parts: [(number: Int, eTag: String)]) async throws(S3Error) {
        let xml = "<CompleteMultipartUpload>"
            + parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(markupEscaped($0.eTag))</ETag></Part>" }.joined()
            + "</CompleteMultipartUpload>"
        let body = try await send("POST", key: key, query: [("uploadId", uploadID)], body: .buffer(ByteBuffer(string: xml)), expecting: [200])
        // S3 may answer 200 and report the failure in the body.
        if let error = S3XML.error(in: body) {
            throw .failed(operation: "complete multipart upload", status: 200, code: error.code, message: error.message)
        }
    }

    package func abortMultipartUpload(_ key: String, uploadID: String) async throws(S3Error) {
        _ = try await send("DELETE", key: key, query: [("uploadId", uploadID)], expecting: [200, 204, 404])
    }

    /// Multipart uploads under `prefix` that were never completed or aborted.
    package func pendingUploads(prefix: String) async throws(S3Error) -> [PendingUpload] {
        var uploads: [PendingUpload] = []
        var markers: (key: String, id: String)?
        repeat {
            var query: [(name: String, value: String)] = [("uploads", ""), ("prefix", prefix)]
            if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.id)] }
            let body = try await send("GET", key: nil, query: query, expecting: [200])
            for record in S3XML.records(named: "Upload", in: body) {
                guard let key = record["Key"], let id = record["UploadId"] else { continue }
                uploads.append(PendingUpload(key: key, uploadID: id, initiated: record["Initiated"].flatMap(Self.parseDate)))
            }
            let truncated = S3XML.value(of: "IsTruncated", in: body) == "true"
            let next = (S3XML.value(of: "NextKeyMarker", in: body) ?? "", S3XML.value(of: "NextUploadIdMarker", in: body) ?? "")
            markers = truncated && !next.0.isEmpty ? next : nil
        } while markers != nil
        return uploads
    }

    // MARK: Presigned URLs

    /// A URL that downloads `key` without credentials until `lifetime` has passed.
    package func presignedGetURL(_ key: String, lifetime: Duration, now: Date = Date()) -> URL? {
        let target = target(key: key)
        let query = signer.presignedQuery(method: "GET", host: target.host, path: target.path, lifetime: lifetime, date: now)
        return URL(string: "\(target.base)\(signer.canonicalPath(target.path))?\(query)")
    }

    // MARK: Requests

    /// Sends a request with a small answer, returning its body; other statuses become errors.
    private func send(
        _ method: String, key: String?, query: [(name: String, value: String)] = [], body: Payload? = nil, expecting: Set<Int>
    ) async throws(S3Error) -> [UInt8] {
        let response = try await execute(method, key: key, query: query, body: body, timeout: requestTimeout)
        guard expecting.contains(Int(response.status.code)) else { throw await failure(response, operation: "\(method) \(key == nil ? "bucket" : "object")") }
        do {
            let buffer = try await response.body.collect(upTo: 16 << 20)
            return Array(buffer.readableBytesView)
        } catch {
            throw S3Error.unavailable(operation: method, reason: "the answer was cut off: \(error)")
        }
    }

    /// Where a key is: the URL's base, the path to sign and send, and the `host` header.
    private func target(key: String?) -> (base: String, path: String, host: String) {
        let scheme = location.endpoint.scheme?.lowercased() ?? "https"
        let endpointHost = location.endpoint.host ?? ""
        let port = location.endpoint.port.map { ":\($0)" } ?? ""
        let objectPath = key.map { "/" + $0 } ?? "/"
        if location.pathStyle {
            return ("\(scheme)://\(endpointHost)\(port)", "/\(location.bucket)\(key == nil ? "" : objectPath)", "\(endpointHost)\(port)")
        }
        return ("\(scheme)://\(location.bucket).\(endpointHost)\(port)", objectPath, "\(location.bucket).\(endpointHost)\(port)")
    }

    private func execute(
        _ method: String, key: String?, query: [(name: String, value: String)], body: Payload?, timeout: Duration
    ) async throws(S3Error) -> HTTPClientResponse {
        let target = target(key: key)
        let payloadHash = body?.sha256 ?? SigV4Signer.payloadHash([UInt8]())
        let now = Date()
        var headers: [(name: String, value: String)] = [
            ("host", target.host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", SigV4Signer.timestamp(now)),
        ]
        if let token = location.credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        let signature = signer.sign(.init(method: method, path: target.path, query: query, headers: headers), payloadHash: payloadHash, date: now)
        let queryText = SigV4Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: "\(target.base)\(signer.canonicalPath(target.path))\(queryText.isEmpty ? "" : "?" + queryText)")
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers where name != "host" { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Host", value: target.host)
        request.headers.add(name: "Authorization", value: signature.authorization)
        switch body {
        case .buffer(let buffer)?:
            request.body = .bytes(buffer)
            request.headers.add(name: "content-length", value: "\(buffer.readableBytes)")
        case .file(let part)?:
            request.body = .stream(SpooledPartChunks(part: part), length: .known(Int64(part.length)))
            request.headers.add(name: "content-length", value: "\(part.length)")
        case nil:
            break
        }
        do {
            return try await S3HTTP.client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
        } catch {
            throw .unavailable(operation: "\(method) \(key == nil ? "bucket" : "object")", reason: S3Error.describe(error))
        }
    }

    private func failure(_ response: HTTPClientResponse, operation: String) async -> S3Error {
        let body = (try? await response.body.collect(upTo: 64 * 1024)).map { Array($0.readableBytesView) } ?? []
        let detail = S3XML.error(in: body)
        return S3Error(operation: operation, status: Int(response.status.code), code: detail?.code ?? "", message: detail?.message ?? "")
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

/// A request's body: bytes in memory, or a part spooled to a file.
enum Payload {
    case buffer(ByteBuffer)
    case file(SpooledPart)

    var sha256: String {
        switch self {
        case .buffer(let buffer): buffer.withUnsafeReadableBytes { SigV4Signer.payloadHash($0) }
        case .file(let part): part.sha256
        }
    }
}

/// `length` bytes of a file on this machine, hashed while they were written.
struct SpooledPart: Sendable {
    let file: URL
    let length: Int
    let sha256: String
}

/// A spooled part read back in chunks as the connection takes them.
struct SpooledPartChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let part: SpooledPart

    func makeAsyncIterator() -> Iterator { Iterator(part: part) }

    struct Iterator: AsyncIteratorProtocol {
        let part: SpooledPart
        var handle: FileHandle?
        var remaining: Int

        init(part: SpooledPart) {
            self.part = part
            remaining = part.length
        }

        mutating func next() async throws -> ByteBuffer? {
            guard remaining > 0 else {
                try? handle?.close()
                handle = nil
                return nil
            }
            if handle == nil { handle = try FileHandle(forReadingFrom: part.file) }
            guard let data = try handle?.read(upToCount: Swift.min(remaining, 256 * 1024)), !data.isEmpty else {
                throw S3Error.unavailable(operation: "upload part", reason: "the spooled part is shorter than \(part.length) bytes")
            }
            remaining -= data.count
            return ByteBuffer(bytes: data)
        }
    }
}

/// One HTTP client for every store of the process: it lives as long as the process (a global is
/// never deinitialised, so it needs no shutdown), follows no redirects (a signed request must
/// go where it was signed for) and gives up connecting after 5 s.
enum S3HTTP {
    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(60))))
}

/// Why an S3 call failed, sorted by what the caller can do about it.
package enum S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store could not be reached, timed out, or answered 5xx/429: retry later.
    case unavailable(operation: String, reason: String)
    /// 403: the credentials are wrong or lack a permission; no retry fixes it.
    case denied(operation: String, code: String, message: String)
    /// The bucket does not exist.
    case noSuchBucket(String)
    /// Anything else (4xx the request caused).
    case failed(operation: String, status: Int, code: String, message: String)

    init(operation: String, status: Int, code: String, message: String) {
        switch status {
        case 403: self = .denied(operation: operation, code: code, message: message)
        case 404 where code == "NoSuchBucket": self = .noSuchBucket(message)
        case 429, 500...599: self = .unavailable(operation: operation, reason: "HTTP \(status)\(code.isEmpty ? "" : " \(code)")")
        default: self = .failed(operation: operation, status: status, code: code, message: message)
        }
    }

    package var description: String {
        switch self {
        case .unavailable(let operation, let reason): "\(operation): the store did not answer (\(reason)); it may be down or overloaded"
        case .denied(let operation, let code, let message):
            "\(operation): access denied (\(code.isEmpty ? "403" : code)\(message.isEmpty ? "" : ": \(message)")); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and the key's permissions on the bucket"
        case .noSuchBucket: "the bucket does not exist; create it or fix DALSTON_ARTIFACTS_URL"
        case .failed(let operation, let status, let code, let message): "\(operation): HTTP \(status) \(code) \(message)"
        }
    }

    var isUnavailable: Bool {
        if case .unavailable = self { return true }
        return false
    }

    /// A transport error in words (no URL, so no presigned secrets in logs).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connection timed out"
            case .deadlineExceeded: return "timed out"
            case .remoteConnectionClosed: return "the connection was closed"
            default: return "\(error)"
            }
        }
        let text = "\(error)"
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
