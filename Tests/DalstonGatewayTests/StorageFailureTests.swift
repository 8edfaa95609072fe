import DalstonTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The data directory on a real, tiny filesystem: full, then read-only (issue 16, item 6).
@Suite("Storage failures", .enabled(if: SmallFilesystem.shouldRun, "needs root to mount a small tmpfs (CI runs as root)"), .serialized)
struct StorageFailureTests {
    @Test func aFullDiskGives507AndAReadOnlyOne503WithoutServerPathsOrLeftovers() async throws {
        let disk = try await SmallFilesystem(kilobytes: 512)
        let fixture = GatewayFixture(artifactsRoot: disk.directory.appendingPathComponent("data"))
        try FileManager.default.createDirectory(at: fixture.artifactsRoot, withIntermediateDirectories: true)
        disk.fill()
        try await fixture.test { client in
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([], file: wav)) { response in
                let error = json(response.body)["error"] as? [String: String]
                #expect(response.status.code == 507, "\(String(buffer: response.body))")
                #expect(error?["code"] == "insufficient_storage")
                let message = error?["message"] ?? "/"
                #expect(message.firstIndex(of: "/") == nil, "no server path: \(message)")
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(json(response.body)["storage"] as? String == "full")
            }
        }
        #expect(fixture.storedFiles.isEmpty, "no temporary file left: \(fixture.storedFiles)")
        try FileManager.default.removeItem(at: disk.directory.appendingPathComponent("filler"))
        try await disk.makeReadOnly()
        try await fixture.test { client in
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([], file: wav)) { response in
                let error = json(response.body)["error"] as? [String: String]
                #expect(response.status == .serviceUnavailable, "\(String(buffer: response.body))")
                #expect(response.headers[.retryAfter] == "30")
                #expect(error?["code"] == "storage_unavailable")
                let message = error?["message"] ?? "/"
                #expect(message.firstIndex(of: "/") == nil, "no server path: \(message)")
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(json(response.body)["storage"] as? String == "unavailable")
            }
        }
        #expect(try await fixture.broker.indexMembers("jobs", limit: 10).isEmpty)
    }
}
