import DalstonGateway
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Browsers' cross-origin calls: answered for the origins `DALSTON_CORS_ORIGINS` lists, before
/// authentication for a preflight, with the headers on every answer (errors too); nothing for
/// other origins or when unset.
@Suite("CORS")
struct CORSTests {
    static let origin = HTTPField.Name("Origin")!
    static let allowOrigin = HTTPField.Name("Access-Control-Allow-Origin")!
    static let requestMethod = HTTPField.Name("Access-Control-Request-Method")!
    static let allowHeaders = HTTPField.Name("Access-Control-Allow-Headers")!
    static let exposeHeaders = HTTPField.Name("Access-Control-Expose-Headers")!

    @Test func listedOriginsGetPreflightAndHeadersOthersNothing() async throws {
        let fixture = GatewayFixture {
            $0.corsOrigins = ["https://app.example.com", "http://localhost:5173"]
            $0.apiKeys = ["k1"]
            $0.securityMode = .apiKey
        }
        try await fixture.test { client in
            // A preflight needs no key: browsers send it without credentials.
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .options,
                headers: [Self.origin: "https://app.example.com", Self.requestMethod: "POST"]
            ) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[Self.allowOrigin] == "https://app.example.com")
                #expect(response.headers[Self.allowHeaders]?.contains("Authorization") == true)
                #expect(response.headers[.vary] == "Origin")
            }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .get, headers: [Self.origin: "http://localhost:5173"]) { response in
                #expect(response.status == .unauthorized, "the key is still needed")
                #expect(response.headers[Self.allowOrigin] == "http://localhost:5173", "an error carries the headers, so the page can read it")
                #expect(response.headers[Self.exposeHeaders]?.contains("X-Request-ID") == true)
            }
            try await client.execute(uri: "/health", method: .get, headers: [Self.origin: "https://evil.example.net"]) { response in
                #expect(response.status == .ok && response.headers[Self.allowOrigin] == nil)
            }
            try await client.execute(
                uri: "/v1/audio/transcriptions", method: .options,
                headers: [Self.origin: "https://evil.example.net", Self.requestMethod: "POST"]
            ) { response in
                #expect(response.headers[Self.allowOrigin] == nil)
            }
        }
    }

    @Test func withoutOriginsThereIsNoCORS() async throws {
        let fixture = GatewayFixture()
        try await fixture.test { client in
            try await client.execute(uri: "/health", method: .get, headers: [Self.origin: "https://app.example.com"]) { response in
                #expect(response.headers[Self.allowOrigin] == nil)
            }
        }
    }

    @Test func theSettingTakesOriginsOrAStar() throws {
        #expect(try GatewayConfiguration.fromEnvironment(["DALSTON_CORS_ORIGINS": " https://a.example , http://localhost:3000 "]).corsOrigins
            == ["https://a.example", "http://localhost:3000"])
        #expect(try GatewayConfiguration.fromEnvironment(["DALSTON_CORS_ORIGINS": "*"]).corsOrigins == ["*"])
        #expect(throws: GatewayConfiguration.Invalid.self) { try GatewayConfiguration.fromEnvironment(["DALSTON_CORS_ORIGINS": "https://a.example/path"]) }
        #expect(throws: GatewayConfiguration.Invalid.self) { try GatewayConfiguration.fromEnvironment(["DALSTON_CORS_ORIGINS": "a.example"]) }
    }
}
