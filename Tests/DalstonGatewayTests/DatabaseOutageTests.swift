import DalstonGateway
import DalstonRecords
import DalstonRecordsPostgres
import DalstonTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The record database going down under a running gateway: submissions fail at once with a
/// clear 503 (nothing queued, no file left), `/ready` and `/v1/status` say so, and the gateway
/// takes jobs again when the database is back, without a restart.
@Suite("Gateway with its database down", .enabled(if: PostgresServerProcess.shouldRun, "\(PostgresServerProcess.skipReason)"))
struct DatabaseOutageTests {
    @Test func submissionsGetA503WhileTheDatabaseIsDownAndSucceedOnceItIsBack() async throws {
        let server = try await PostgresServerProcess()
        let database = await PostgresRecordDatabase.connect(url: try PostgresURL(try await server.createDatabase()), operationTimeout: .seconds(4), logger: Logger(label: "test"))
        let records = try await RecordStore.open(database, logger: Logger(label: "test"))
        let fixture = GatewayFixture(records: records)
        try await fixture.test { client in
            let form = multipart([("language", "en")], file: wav)
            let headers: HTTPFields = [.contentType: "multipart/form-data; boundary=XyZ"]
            // Up: accepted (retried while a loaded machine still warms PostgreSQL up).
            #expect(await eventually(timeout: .seconds(30)) {
                (try? await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers, body: form).status) == .created
            })
            let filesBefore = fixture.storedFiles.filter { $0.hasPrefix("audio") }.count
            let queuedBefore = try await fixture.broker.indexMembers("jobs", limit: 100).count

            await server.stop()
            let start = ContinuousClock.now
            let refused = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers, body: form)
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers[.retryAfter] == "5")
            #expect(String(buffer: refused.body).contains("database_unavailable"), "\(String(buffer: refused.body))")
            // No hang: the 4 s deadline, and a margin for a CI machine that stalls for seconds.
            #expect(ContinuousClock.now - start < .seconds(15))
            #expect(fixture.storedFiles.filter { $0.hasPrefix("audio") }.count == filesBefore, "the refused upload left no file")
            #expect(try await fixture.broker.indexMembers("jobs", limit: 100).count == queuedBefore, "nothing was queued for it")
            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(ready.status == .serviceUnavailable && String(buffer: ready.body).contains("\"database\":\"unavailable\""))

            try await server.start()
            let back = await eventually(timeout: .seconds(30)) {
                (try? await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers, body: form).status) == .created
            }
            #expect(back, "the gateway takes jobs again without a restart")
            let status = try await client.execute(uri: "/v1/status", method: .get)
            #expect(String(buffer: status.body).contains("\"reachable\":true"))
        }
        await records.close()
    }
}
