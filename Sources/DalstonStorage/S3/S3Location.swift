package import Foundation

/// Where the artifacts are in object storage, and how to reach it: `DALSTON_ARTIFACTS_URL`
/// (`s3://bucket/prefix`), the endpoint (`DALSTON_S3_ENDPOINT`, or AWS's standard
/// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`; AWS itself when none), the region (`AWS_REGION`,
/// `AWS_DEFAULT_REGION`; `us-east-1`), path-style addressing (`DALSTON_S3_PATH_STYLE`; on by
/// default for a custom endpoint such as MinIO or SeaweedFS) and the credentials
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
package struct S3Location: Sendable, Equatable {
    package var endpoint: URL
    package var bucket: String
    /// Keys start with it (`prefix/jobs/<id>/<name>`); empty or ending in `/`.
    package var prefix: String
    package var region: String
    package var pathStyle: Bool
    package var credentials: SigV4Signer.Credentials

    package init(endpoint: URL, bucket: String, prefix: String = "", region: String = "us-east-1", pathStyle: Bool = true, credentials: SigV4Signer.Credentials) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.region = region
        self.pathStyle = pathStyle
        self.credentials = credentials
    }

    /// A setting that cannot work, said so at start-up.
    package struct Invalid: Error, CustomStringConvertible {
        package let description: String
    }

    /// `s3://bucket/prefix` into its bucket and prefix; nil for another scheme.
    package static func parse(_ url: String) -> (bucket: String, key: String)? {
        guard url.lowercased().hasPrefix("s3://") else { return nil }
        let rest = url.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { return nil }
        return (String(bucket), String(rest.dropFirst(bucket.count).drop { $0 == "/" }))
    }

    /// The location `DALSTON_ARTIFACTS_URL` names, or nil when it is unset or `file:` (local files).
    package static func fromEnvironment(_ environment: [String: String]) throws(Invalid) -> S3Location? {
        guard let raw = environment["DALSTON_ARTIFACTS_URL"].flatMap({ $0.isEmpty ? nil : $0 }), !raw.lowercased().hasPrefix("file:") else { return nil }
        guard let (bucket, prefix) = parse(raw) else {
            throw Invalid(description: "invalid DALSTON_ARTIFACTS_URL=\"\(raw.prefix(200))\": use s3://bucket/prefix for object storage, or leave it unset for files under DALSTON_DATA_DIR")
        }
        guard Self.isValidBucketName(bucket) else {
            throw Invalid(description: "invalid bucket \"\(bucket.prefix(80))\" in DALSTON_ARTIFACTS_URL: 3 to 63 lowercase letters, digits, dots and hyphens")
        }
        return try connection(environment, bucket: bucket, prefix: prefix)
    }

    /// The bucket `bucket` reached with the environment's endpoint, region, addressing and credentials.
    package static func connection(_ environment: [String: String], bucket: String, prefix: String = "") throws(Invalid) -> S3Location {
        let credentials = try credentials(environment)
        let region = environment["AWS_REGION"].nonEmpty ?? environment["AWS_DEFAULT_REGION"].nonEmpty ?? "us-east-1"
        let endpointText = environment["DALSTON_S3_ENDPOINT"].nonEmpty ?? environment["AWS_ENDPOINT_URL_S3"].nonEmpty ?? environment["AWS_ENDPOINT_URL"].nonEmpty
        let endpoint: URL
        if let endpointText {
            guard let url = URL(string: endpointText), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil,
                  url.path.isEmpty || url.path == "/", url.query == nil else {
                throw Invalid(description: "invalid DALSTON_S3_ENDPOINT=\"\(endpointText.prefix(200))\": use http(s)://host[:port] with no path")
            }
            endpoint = url
        } else {
            guard let url = URL(string: "https://s3.\(region).amazonaws.com") else { throw Invalid(description: "invalid AWS_REGION=\"\(region.prefix(40))\"") }
            endpoint = url
        }
        let pathStyle: Bool
        switch environment["DALSTON_S3_PATH_STYLE"]?.lowercased() {
        case nil, "": pathStyle = endpointText != nil || bucket.contains(".")
        case "true", "1", "yes": pathStyle = true
        case "false", "0", "no": pathStyle = false
        case let other?: throw Invalid(description: "invalid DALSTON_S3_PATH_STYLE=\"\(other.prefix(20))\": use true or false")
        }
        return S3Location(endpoint: endpoint, bucket: bucket, prefix: prefix, region: region, pathStyle: pathStyle, credentials: credentials)
    }

    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (both, or the error says which is missing).
    package static func credentials(_ environment: [String: String]) throws(Invalid) -> SigV4Signer.Credentials {
        guard let key = environment["AWS_ACCESS_KEY_ID"].nonEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"].nonEmpty else {
            let missing = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].filter { environment[$0].nonEmpty == nil }
            throw Invalid(description: "S3 storage needs credentials: set \(missing.joined(separator: " and ")) (a key allowed to read, write, list and delete in the bucket)")
        }
        return SigV4Signer.Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].nonEmpty)
    }

    static func isValidBucketName(_ name: String) -> Bool {
        guard (3...63).contains(name.count), let first = name.first, first.isLetter || first.isNumber else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "-") }
    }

    /// `s3://bucket/prefix`, for logs (never the credentials).
    package var description: String { "s3://\(bucket)/\(prefix)" }
}

extension Optional where Wrapped == String {
    fileprivate var nonEmpty: String? {
        switch self {
        case .some(let value) where !value.isEmpty: value
        default: nil
        }
    }
}
