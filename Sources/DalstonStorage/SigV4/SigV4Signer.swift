import Crypto
package import Foundation

/// AWS Signature Version 4: signs a request with a secret key so the store can tell who sent it
/// and that nothing was changed on the way (the method, path, query, the signed headers and the
/// body's SHA-256). Written from AWS's published algorithm, checked against its test vectors.
package struct SigV4Signer: Sendable {
    package struct Credentials: Sendable, Equatable {
        package var accessKeyID: String
        package var secretAccessKey: String
        /// Temporary credentials (STS) carry a token, sent as `x-amz-security-token`.
        package var sessionToken: String?

        package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// How the path is made canonical. S3 signs the object key encoded once, dot segments kept;
    /// every other service normalises the path as sent and encodes that (so a path the client
    /// already encoded is encoded twice).
    package enum PathStyle: Sendable {
        case s3
        case standard
    }

    /// The `x-amz-content-sha256` value for a body that is not hashed (presigned URLs).
    package static let unsignedPayload = "UNSIGNED-PAYLOAD"

    package let credentials: Credentials
    package let region: String
    package let service: String
    package let pathStyle: PathStyle

    package init(credentials: Credentials, region: String, service: String = "s3", pathStyle: PathStyle = .s3) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.pathStyle = pathStyle
    }

    /// A request to sign: `path` and `query` decoded (the signer encodes them), header names in
    /// any case.
    package struct Request: Sendable {
        package var method: String
        package var path: String
        package var query: [(name: String, value: String)]
        package var headers: [(name: String, value: String)]

        package init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)] = []) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
        }
    }

    /// What signing produced, for tests and for the `Authorization` header.
    package struct Signature: Sendable {
        package let canonicalRequest: String
        package let stringToSign: String
        package let signature: String
        package let authorization: String
    }

    /// Signs `request` (which must carry `host`, and `x-amz-date` is added when absent) with the
    /// body's hex SHA-256 `payloadHash` at `date`.
    package func sign(_ request: Request, payloadHash: String, date: Date) -> Signature {
        let stamp = Self.timestamp(date)
        var dated = request
        if !dated.headers.contains(where: { $0.name.lowercased() == "x-amz-date" }) { dated.headers.append(("x-amz-date", stamp)) }
        return signature(of: dated, payloadHash: payloadHash, stamp: stamp)
    }

    private func signature(of request: Request, payloadHash: String, stamp: String) -> Signature {
        let headers = request.headers
        let canonicalHeaders = Self.canonicalHeaders(headers)
        let signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
        let canonicalRequest = [
            request.method.uppercased(), canonicalPath(request.path), Self.canonicalQuery(request.query),
            canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(), signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let scope = self.scope(stamp)
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: String(stamp.prefix(8)))))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature, authorization: authorization)
    }

    /// The query string of a presigned URL: anyone holding it may send `method` to `path` on
    /// `host` until `date + lifetime`, without credentials (the `X-Amz-*` parameters, sorted,
    /// then the signature last, as AWS's own clients write it).
    package func presignedQuery(
        method: String, host: String, path: String, query: [(name: String, value: String)] = [], lifetime: Duration, date: Date
    ) -> String {
        let stamp = Self.timestamp(date)
        var parameters = query
        parameters.append(("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        parameters.append(("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(stamp))"))
        parameters.append(("X-Amz-Date", stamp))
        parameters.append(("X-Amz-Expires", "\(max(1, min(604_800, Int(lifetime.components.seconds))))"))
        if let token = credentials.sessionToken { parameters.append(("X-Amz-Security-Token", token)) }
        parameters.append(("X-Amz-SignedHeaders", "host"))
        // Only `host` is signed: the date travels in the query.
        let signature = signature(
            of: Request(method: method, path: path, query: parameters, headers: [("host", host)]), payloadHash: Self.unsignedPayload, stamp: stamp)
        return Self.canonicalQuery(parameters) + "&X-Amz-Signature=" + signature.signature
    }

    /// The hex SHA-256 of a body, as `x-amz-content-sha256` and the canonical request want it.
    package static func payloadHash(_ bytes: some DataProtocol) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// `20150830T123600Z`.
    package static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(parts.year ?? 1970)\(two(parts.month))\(two(parts.day))T\(two(parts.hour))\(two(parts.minute))\(two(parts.second))Z"
    }

    /// The path as it is signed, and sent: each segment percent-encoded (`pathStyle` decides the rest).
    package func canonicalPath(_ path: String) -> String {
        switch pathStyle {
        case .s3:
            return path.isEmpty ? "/" : Self.encode(path, keepingSlash: true)
        case .standard:
            // `path` as sent (already percent-encoded by the client): encoded again here.
            return Self.encode(Self.removingDotSegments(path), keepingSlash: true)
        }
    }

    /// RFC 3986's unreserved characters stay; every other byte of the UTF-8 is `%XX`.
    package static func encode(_ text: String, keepingSlash: Bool) -> String {
        var encoded = ""
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepingSlash && byte == 0x2F) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return encoded
    }

    /// RFC 3986's unreserved characters: letters, digits, `-`, `_`, `.`, `~`.
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        let isLetter = (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        let isDigit = (0x30...0x39).contains(byte)
        return isLetter || isDigit || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x7E
    }

    /// The query encoded and sorted by name, then value, as SigV4 (and the URL sent) has it.
    package static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (encode($0.name, keepingSlash: false), encode($0.value, keepingSlash: false)) }
        let sorted = encoded.sorted { (left: (name: String, value: String), right: (name: String, value: String)) -> Bool in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    private static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            // Values trimmed, runs of spaces folded to one (AWS's rule for unquoted values).
            let folded = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            merged[name.lowercased(), default: []].append(folded)
        }
        return merged.keys.sorted().map { ($0, merged[$0, default: []].joined(separator: ",")) }
    }

    private func scope(_ stamp: String) -> String {
        "\(stamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    private func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    package static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// RFC 3986 section 5.2.4, for the standard services' paths.
    static func removingDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            switch segment {
            case ".": continue
            case "..": if !output.isEmpty { output.removeLast() }
            case "": continue
            default: output.append(segment)
            }
        }
        let trailing = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return "/" + output.joined(separator: "/") + trailing
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
