import DalstonStorage
import Foundation
import Testing

/// The signer against AWS's published Signature Version 4 test suite and the S3 documentation's
/// examples (Fixtures/README.md says where each comes from): canonical request, string to sign
/// and signature must match to the character.
@Suite("SigV4")
struct SigV4Tests {
    struct Vector: Decodable, CustomTestStringConvertible {
        let name: String
        let kind: String
        let method: String
        let path: String
        let query: [[String]]
        let headers: [[String]]
        let body: String
        let service: String
        let region: String
        let accessKey: String
        let secretKey: String
        let date: String
        let canonicalRequest: String
        let stringToSign: String
        let authorization: String

        var testDescription: String { name }

        enum CodingKeys: String, CodingKey {
            case name, kind, method, path, query, headers, body, service, region, date
            case accessKey = "access_key"
            case secretKey = "secret_key"
            case canonicalRequest = "canonical_request"
            case stringToSign = "string_to_sign"
            case authorization
        }
    }

    struct PresignedVector: Decodable {
        let name: String
        let method: String
        let host: String
        let path: String
        let region: String
        let accessKey: String
        let secretKey: String
        let date: String
        let expires: Int
        let expectedURL: String

        enum CodingKeys: String, CodingKey {
            case name, method, host, path, region, date, expires
            case accessKey = "access_key"
            case secretKey = "secret_key"
            case expectedURL = "expected_url"
        }
    }

    static func fixture<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(type, from: Data(contentsOf: url))
    }

    static let vectors: [Vector] = (try? fixture("sigv4-vectors", as: [Vector].self)) ?? []

    static func date(_ stamp: String) throws -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return try #require(formatter.date(from: stamp))
    }

    @Test func theFixturesAreThere() {
        #expect(Self.vectors.count >= 30 && Self.vectors.contains { $0.kind == "s3" })
    }

    @Test(arguments: vectors)
    func aPublishedRequestIsSignedAsAWSSignsIt(vector: Vector) throws {
        let headers = vector.headers.map { (name: $0[0], value: $0[1]) }
        let token = headers.first { $0.name.lowercased() == "x-amz-security-token" }?.value
        let signer = SigV4Signer(
            credentials: .init(accessKeyID: vector.accessKey, secretAccessKey: vector.secretKey, sessionToken: token), region: vector.region,
            service: vector.service, pathStyle: vector.kind == "s3" ? .s3 : .standard)
        let payloadHash = headers.first { $0.name.lowercased() == "x-amz-content-sha256" }?.value ?? SigV4Signer.payloadHash(Array(vector.body.utf8))
        let signature = signer.sign(
            .init(method: vector.method, path: vector.path, query: vector.query.map { (name: $0[0], value: $0[1]) }, headers: headers),
            payloadHash: payloadHash, date: try Self.date(vector.date))
        #expect(signature.canonicalRequest == vector.canonicalRequest)
        #expect(signature.stringToSign == vector.stringToSign)
        #expect(signature.authorization == vector.authorization)
    }

    @Test func thePublishedPresignedURLIsReproduced() throws {
        for vector in try Self.fixture("sigv4-presigned-vectors", as: [PresignedVector].self) {
            let signer = SigV4Signer(credentials: .init(accessKeyID: vector.accessKey, secretAccessKey: vector.secretKey), region: vector.region)
            let query = signer.presignedQuery(
                method: vector.method, host: vector.host, path: vector.path, lifetime: .seconds(vector.expires), date: try Self.date(vector.date))
            let url = "https://\(vector.host)\(signer.canonicalPath(vector.path))?\(query)"
            #expect(url == vector.expectedURL, "\(vector.name)")
        }
    }

    @Test func timestampsAndEncodingFollowTheRules() throws {
        #expect(SigV4Signer.timestamp(try Self.date("20150830T123600Z")) == "20150830T123600Z")
        #expect(SigV4Signer.encode("a b/c~d*é", keepingSlash: true) == "a%20b/c~d%2A%C3%A9")
        #expect(SigV4Signer.encode("a/b", keepingSlash: false) == "a%2Fb")
        #expect(SigV4Signer.canonicalQuery([("b", "2"), ("a", "z"), ("a", "y"), ("uploads", "")]) == "a=y&a=z&b=2&uploads=")
    }
}
