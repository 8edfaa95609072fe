import DalstonLogging
import DalstonMetrics
import DalstonObservability
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `/admin/log-level` beside `/metrics` on a service's metrics port (the orchestrator's, an
/// engine's): closed without a token, refused with a wrong one, applied with the right one.
@Suite("Admin log-level endpoint")
struct AdminEndpointTests {
    private func administration() -> LogLevelAdministration {
        LogLevelAdministration(controller: LogLevelController(LogLevelPolicy(defaultLevel: .info)), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test func theMetricsPortChangesLevelsOnlyForTheAdminToken() async throws {
        let admin = administration()
        let router = MetricsServer.router(PrometheusExposition(), admin: (admin, token: "s3cret"))
        let change = ByteBuffer(string: #"{"level": "debug", "logger": "dalston.redis", "duration_seconds": 30}"#)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/admin/log-level", method: .put, body: change) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/admin/log-level", method: .put, headers: [.authorization: "Bearer nope"], body: change) { #expect($0.status == .unauthorized) }
            #expect(admin.controller.level(forLabel: "dalston.redis.pool") == .info, "nothing changed yet")
            try await client.execute(uri: "/admin/log-level", method: .put, headers: [.authorization: "Bearer s3cret"], body: change) { response in
                #expect(response.status == .ok)
            }
            #expect(admin.controller.level(forLabel: "dalston.redis.pool") == .debug)
            try await client.execute(uri: "/admin/log-level", method: .put, headers: [.authorization: "Bearer s3cret"], body: ByteBuffer(string: #"{"level": "loud"}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("not a log level"))
            }
            try await client.execute(uri: "/admin/log-level", method: .get, headers: [.authorization: "Bearer s3cret"]) { response in
                #expect(String(buffer: response.body).contains(#""dalston.redis":"debug""#))
            }
        }
        admin.cancelReverts()
    }

    @Test func withoutATokenConfiguredEveryChangeIsRefused() async throws {
        let admin = administration()
        try await Application(router: MetricsServer.router(PrometheusExposition(), admin: (admin, token: nil))).test(.router) { client in
            try await client.execute(uri: "/admin/log-level", method: .put, headers: [.authorization: "Bearer anything"], body: ByteBuffer(string: #"{"level": "trace"}"#)) { response in
                #expect(response.status == .forbidden)
            }
        }
        #expect(admin.controller.policy.defaultLevel == .info)
    }
}
