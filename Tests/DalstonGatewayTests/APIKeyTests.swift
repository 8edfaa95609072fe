@testable import DalstonGateway
import DalstonRecords
import DalstonRecordsSQLite
import DalstonTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// API keys from the record database: scopes enforced on every route, revoked and expired keys
/// refused, `GET /auth/me`, and `DALSTON_API_KEYS` still accepted beside them.
@Suite("API keys and scopes")
struct APIKeyTests {
    static func records() async throws -> RecordStore {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-keys-\(UUID().uuidString)/dalston.sqlite").path
        return try await RecordStore.open(try await SQLiteRecordDatabase.open(path: path, logger: Logger(label: "test")), logger: Logger(label: "test"))
    }

    /// Every HTTP route but the probes, with the scope it needs (nil: any valid key).
    static let routes: [(HTTPRequest.Method, String, APIKeyScope?)] = [
        (.get, "/auth/me", nil),
        (.get, "/auth/keys", .admin), (.post, "/auth/keys", .admin), (.get, "/auth/keys/key_x", .admin), (.delete, "/auth/keys/key_x", .admin),
        // Minting tokens needs the realtime scope, which the token is for.
        (.post, "/auth/tokens", .realtime), (.post, "/v1/single-use-token/realtime_scribe", .realtime),
        (.post, "/v1/realtime/transcription_sessions", .realtime),
        (.get, "/v1/status", .jobsRead), (.get, "/v1/models", .jobsRead), (.get, "/v1/models/pocketsphinx-en-us", .jobsRead),
        (.get, "/v1/audio/transcriptions", .jobsRead), (.get, "/v1/audio/transcriptions/job-x", .jobsRead),
        (.get, "/v1/audio/transcriptions/job-x/export/srt", .jobsRead),
        (.post, "/v1/audio/transcriptions", .jobsWrite), (.post, "/v1/audio/translations", .jobsWrite),
        (.patch, "/v1/audio/transcriptions/job-x", .jobsWrite), (.delete, "/v1/audio/transcriptions/job-x", .jobsWrite),
        (.post, "/v1/audio/transcriptions/job-x/cancel", .jobsWrite),
        (.post, "/v1/speech-to-text", .jobsWrite), (.get, "/v1/speech-to-text/transcripts/job-x", .jobsRead),
        (.delete, "/v1/speech-to-text/transcripts/job-x", .jobsWrite), (.get, "/v1/speech-to-text/transcripts/job-x/export/txt", .jobsRead),
        (.get, "/v1/realtime/status", .jobsRead), (.get, "/v1/realtime/workers", .jobsRead), (.get, "/v1/realtime/sessions", .jobsRead),
        (.get, "/v1/realtime/sessions/sess_x", .jobsRead), (.delete, "/v1/realtime/sessions/sess_x", .jobsWrite),
        (.get, "/v1/webhooks", .webhooks), (.post, "/v1/webhooks", .webhooks), (.get, "/v1/webhooks/wh_x", .webhooks),
        (.patch, "/v1/webhooks/wh_x", .webhooks), (.delete, "/v1/webhooks/wh_x", .webhooks), (.post, "/v1/webhooks/wh_x/rotate-secret", .webhooks),
        (.get, "/v1/webhooks/wh_x/deliveries", .webhooks), (.post, "/v1/webhooks/wh_x/deliveries/msg_x/retry", .webhooks),
        // The realtime WebSocket paths, asked without an upgrade (426 once the key is good).
        (.get, "/v1/audio/transcriptions/stream", .realtime), (.get, "/v1/speech-to-text/realtime", .realtime), (.get, "/v1/realtime", .realtime),
    ]

    @Test func eachRouteAdmitsExactlyTheKeysWithItsScope() async throws {
        let records = try await Self.records()
        var secrets: [APIKeyScope: String] = [:]
        for scope in APIKeyScope.allCases {
            secrets[scope] = try await records.apiKeys.create(name: scope.rawValue, scopes: [scope]).secret
        }
        let fixture = GatewayFixture(records: records) { $0.securityMode = .apiKey }
        let keys = secrets
        try await fixture.test { client in
            for (method, path, needed) in Self.routes {
                for (scope, secret) in keys {
                    let status = try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(secret)"]).status
                    let allowed = needed == nil || scope == .admin || scope == needed
                    if allowed {
                        #expect(status != .forbidden && status != .unauthorized, "\(method) \(path) with a \(scope.rawValue) key: \(status)")
                    } else {
                        #expect(status == .forbidden, "\(method) \(path) with a \(scope.rawValue) key: \(status)")
                    }
                }
                #expect(try await client.execute(uri: path, method: method).status == .unauthorized, "\(method) \(path) without a key")
            }
            // The probes stay open.
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
        await records.close()
    }

    @Test func revokedExpiredAndUnknownKeysAreRefusedWithTheirReason() async throws {
        let records = try await Self.records()
        let revoked = try await records.apiKeys.create(name: "old", scopes: [.admin])
        _ = try await records.apiKeys.revoke(revoked.key.id)
        let expired = try await records.apiKeys.create(name: "short", scopes: [.admin], expiresAt: Date().addingTimeInterval(-1))
        let fixture = GatewayFixture(records: records) { $0.securityMode = .apiKey }
        try await fixture.test { client in
            let cases = [(revoked.secret, "key_revoked"), (expired.secret, "key_expired"), ("dk_" + String(repeating: "A", count: 40), "unauthorized")]
            for (secret, code) in cases {
                let response = try await client.execute(uri: "/v1/audio/transcriptions", method: .get, headers: [.authorization: "Bearer \(secret)"])
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains(code), "\(String(buffer: response.body))")
            }
        }
        await records.close()
    }

    @Test func authMeDescribesTheCallersKeyAndEnvironmentKeysStillWork() async throws {
        let records = try await Self.records()
        let reader = try await records.apiKeys.create(name: "dashboard", scopes: [.jobsRead, .realtime])
        let fixture = GatewayFixture(records: records) {
            $0.securityMode = .apiKey
            $0.apiKeys = ["env-secret-key"]
        }
        try await fixture.test { client in
            let me = try await client.execute(uri: "/auth/me", method: .get, headers: [.authorization: "Bearer \(reader.secret)"])
            #expect(me.status == .ok)
            let body = try JSONSerialization.jsonObject(with: Data(buffer: me.body)) as? [String: Any] ?? [:]
            #expect(body["key_id"] as? String == reader.key.id)
            #expect(body["name"] as? String == "dashboard")
            #expect(body["prefix"] as? String == reader.key.prefix)
            #expect(body["source"] as? String == "database")
            #expect(body["scopes"] as? [String] == ["jobs:read", "realtime"])
            #expect(!String(buffer: me.body).contains(reader.secret), "the secret is never echoed")

            let environment = try await client.execute(uri: "/v1/audio/transcriptions", method: .get,
                                                        headers: [.authorization: "Bearer env-secret-key"])
            #expect(environment.status == .ok)
            let envMe = try await client.execute(uri: "/auth/me", method: .get, headers: [.authorization: "Bearer env-secret-key"])
            let envBody = try JSONSerialization.jsonObject(with: Data(buffer: envMe.body)) as? [String: Any] ?? [:]
            #expect(envBody["source"] as? String == "environment")
            #expect((envBody["scopes"] as? [String])?.contains("admin") == true)
        }
        await records.close()
    }

    @Test func refusalsComeInEachDialectsShapeAndTheProbesStayOpen() async throws {
        let records = try await Self.records()
        let fixture = GatewayFixture(records: records) { $0.securityMode = .apiKey }
        try await fixture.test { client in
            func body(_ path: String, _ method: HTTPRequest.Method = .get) async throws -> [String: Any] {
                let response = try await client.execute(uri: path, method: method)
                #expect(response.status == .unauthorized, "\(path)")
                return try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
            }
            let elevenLabs = try await body("/v1/speech-to-text", .post)
            #expect((elevenLabs["detail"] as? [String: Any])?["status"] as? String == "unauthorized", "ElevenLabs: \(elevenLabs)")
            let openAI = try await body("/v1/models")
            #expect((openAI["error"] as? [String: Any])?["type"] as? String == "authentication_error", "OpenAI: \(openAI)")
            let native = try await body("/v1/audio/transcriptions")
            #expect((native["error"] as? [String: Any])?["code"] as? String == "unauthorized" && (native["error"] as? [String: Any])?["type"] == nil,
                    "native: \(native)")
            for probe in ["/health", "/ready"] {
                #expect(try await client.execute(uri: probe, method: .get).status != .unauthorized, "\(probe) is open")
            }
            // A path no dialect serves is not found, in the native shape.
            let unknown = try await client.execute(uri: "/v1/nothing-here", method: .get)
            #expect(unknown.status == .notFound && String(buffer: unknown.body).contains("\"code\""))
        }
        await records.close()
    }

    @Test func aKeyOverItsRequestRateGets429WithOpenAIsHeadersAndOthersDoNot() async throws {
        let records = try await Self.records()
        let limited = try await records.apiKeys.create(APIKeyTerms(name: "limited", scopes: [.jobsRead], rateLimit: 2)).secret
        let free = try await records.apiKeys.create(name: "free", scopes: [.jobsRead]).secret
        let fixture = GatewayFixture(records: records) { $0.securityMode = .apiKey }
        try await fixture.test { client in
            for remaining in ["1", "0"] {
                let reply = try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer \(limited)"])
                #expect(reply.status == .ok)
                #expect(reply.headers[HTTPField.Name("x-ratelimit-limit-requests")!] == "2")
                #expect(reply.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == remaining)
            }
            let refused = try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer \(limited)"])
            #expect(refused.status == .tooManyRequests)
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(refused.headers[HTTPField.Name("x-ratelimit-reset-requests")!]?.hasSuffix("s") == true)
            #expect(String(buffer: refused.body).contains("rate_limit_exceeded"))
            let other = try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer \(free)"])
            #expect(other.status == .ok && other.headers[HTTPField.Name("x-ratelimit-limit-requests")!] == nil, "no limit, no headers")
        }
        await records.close()
    }

    @Test func resetTimesReadAsOpenAIWritesThem() {
        let headers = RateLimitMiddleware.headers(limit: 10, remaining: 3, resetsIn: .milliseconds(12_300))
        #expect(headers[HTTPField.Name("x-ratelimit-reset-requests")!] == "13s")
        #expect(RateLimitMiddleware.headers(limit: 1, remaining: 0, resetsIn: .milliseconds(420))[HTTPField.Name("x-ratelimit-reset-requests")!] == "420ms")
    }
}
