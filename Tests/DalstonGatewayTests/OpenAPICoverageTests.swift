@testable import DalstonBroker
@testable import DalstonGateway
import DalstonLogging
import DalstonMetrics
import DalstonObservability
import DalstonPipeline
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The published OpenAPI document and the router describe the same routes: a route added
/// without its description, or a description left after its route went, fails here.
@Suite("OpenAPI document")
struct OpenAPICoverageTests {
    /// A gateway with every optional part on (metrics, the admin log level), so that all routes exist.
    static func fullGateway() -> Gateway {
        let broker = InMemoryBroker()
        let artifacts = FileArtifactStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("dalston-openapi-\(UUID().uuidString)"))
        let admin = LogLevelAdministration(
            controller: LogLevelController(LogLevelPolicy(defaultLevel: .info)), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        return Gateway(
            configuration: GatewayConfiguration(), jobs: JobService(state: broker, events: broker, artifacts: artifacts), queues: broker, workers: broker,
            brokerKind: "in-memory", metrics: MetricsRuntime.standalone(service: "gateway"), logLevels: (admin, token: "t"))
    }

    /// `GET /v1/audio/transcriptions/{id}`, whatever the router calls its captures.
    static func normalized(_ method: String, _ path: String) -> String {
        let parts = path.split(separator: "/").map { part in
            part.hasPrefix(":") || (part.hasPrefix("{") && part.hasSuffix("}")) ? "{}" : String(part)
        }
        return "\(method) /" + parts.joined(separator: "/")
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() {
        let served = Set(Self.fullGateway().makeRouter().routes.map { Self.normalized($0.method.rawValue, $0.path.description) })
        let documented = APICatalogue.operations.map { Self.normalized($0.method.rawValue, $0.path) }
        #expect(Set(documented).count == documented.count, "a route is described twice")
        let undocumented = served.subtracting(documented).sorted()
        let missing = Set(documented).subtracting(served).sorted()
        #expect(undocumented.isEmpty, "served but not in APICatalogue: \(undocumented)")
        #expect(missing.isEmpty, "in APICatalogue but not served: \(missing)")
    }

    @Test func theDocumentIsOpenAPI31WithUniqueOperationsAndIsServedWithItsPage() async throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json())) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let ids = paths.values.flatMap { $0.values.compactMap { ($0 as? [String: Any])?["operationId"] as? String } }
        #expect(ids.count == APICatalogue.operations.count && Set(ids).count == ids.count)
        let keys = try #require(paths["/auth/keys"]?["post"] as? [String: Any])
        #expect((keys["x-dalston-access"] as? String) == "admin")
        try await Application(router: Self.fullGateway().makeRouter()).test(.router) { client in
            let json = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(json.status == .ok && json.headers[.contentType] == "application/json")
            let page = try await client.execute(uri: "/docs", method: .get)
            let html = String(buffer: page.body)
            #expect(page.status == .ok && html.contains("/v1/audio/transcriptions/{id}/tasks/{task_id}/artifacts"))
            #expect(!html.contains("<script"), "no script on the page")
            #expect(page.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'none'") == true)
        }
    }

    @Test func thePageEscapesWhatItShows() {
        let hostile = APIOperation(method: .get, path: "/x", tag: "<b>", summary: "<script>alert(1)</script>", access: .open)
        let html = APIDocsPage.render([hostile])
        #expect(!html.contains("<script>") && html.contains("&lt;script&gt;") && !html.contains("<h2><b>"))
    }
}
