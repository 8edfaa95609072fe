import DalstonGateway
import DalstonMetrics
import DalstonTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Gateway metrics")
struct GatewayMetricsTests {
    func scrape(_ client: any TestClientProtocol) async throws -> Exposition {
        try await client.execute(uri: "/metrics", method: .get) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            return Exposition(String(buffer: response.body))
        }
    }

    @Test func requestsAreCountedByRouteTemplateNeverByRawPath() async throws {
        let metrics = MetricsRuntime.standalone(service: "gateway")
        try await GatewayFixture(metrics: metrics).test { client in
            for id in ["job_a", "job_b", "job_c"] {
                try await client.execute(uri: "/v1/audio/transcriptions/\(id)", method: .get) { #expect($0.status == .notFound) }
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/no/such/path/42", method: .get) { #expect($0.status == .notFound) }
            let created = multipart([("language", "en")], file: wav)
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: created) { #expect($0.status == .created) }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([], file: Array("not audio".utf8))) {
                #expect($0.status == .badRequest)
            }

            let exposition = try await scrape(client)
            let requests = "dalston_gateway_requests_total"
            #expect(exposition.value(requests, ["method": "GET", "endpoint": "/v1/audio/transcriptions/{id}", "status_code": "404", "service": "gateway"]) == 3)
            #expect(exposition.value(requests, ["method": "GET", "endpoint": "/health", "status_code": "200"]) == 1)
            #expect(exposition.value(requests, ["method": "GET", "endpoint": "unmatched", "status_code": "404"]) == 1)
            #expect(exposition.value(requests, ["method": "POST", "endpoint": "/v1/audio/transcriptions", "status_code": "201"]) == 1)
            #expect(exposition.value(requests, ["method": "POST", "endpoint": "/v1/audio/transcriptions", "status_code": "400"]) == 1)
            #expect(!exposition.text.contains("job_a") && !exposition.text.contains("/no/such/path"), "no ids or raw paths in labels")
            #expect(exposition.value("dalston_gateway_request_duration_seconds_count", ["method": "GET", "endpoint": "/v1/audio/transcriptions/{id}"]) == 3,
                    "failed requests are timed too")
            #expect(exposition.value("dalston_gateway_upload_bytes_total") == Double(wav.count))
            #expect(exposition.value("dalston_gateway_jobs_created_total", ["api": "native"]) == 1)
        }
    }

    @Test func authenticationFailuresAreCountedByReasonAndMetricsNeedNoKey() async throws {
        let metrics = MetricsRuntime.standalone(service: "gateway")
        let fixture = GatewayFixture(metrics: metrics) {
            $0.securityMode = .apiKey
            $0.apiKeys = ["k1"]
        }
        try await fixture.test { client in
            try await client.execute(uri: "/v1/status", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/status", method: .get, headers: [.authorization: "Bearer nope"]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/status", method: .get, headers: [.authorization: "Bearer nope2"]) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/status", method: .get, headers: [.authorization: "Bearer k1"]) { #expect($0.status == .ok) }
            let exposition = try await scrape(client)
            #expect(exposition.value("dalston_gateway_auth_failures_total", ["reason": "missing"]) == 1)
            #expect(exposition.value("dalston_gateway_auth_failures_total", ["reason": "invalid"]) == 2)
            #expect(exposition.value("dalston_gateway_requests_total", ["endpoint": "/v1/status", "status_code": "401"]) == 3)
        }
    }

    @Test func withMetricsOffThereIsNoMetricsRoute() async throws {
        try await GatewayFixture(metrics: .disabled).test { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .notFound) }
        }
    }
}
