import DalstonBroker
import DalstonPipeline
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `GET` and `DELETE /v1/audio/transcriptions/{id}/audio`: the original upload while it is kept,
/// its deletion once the job has ended (the transcript stays), and clear answers otherwise.
@Suite("Job audio")
struct JobAudioTests {
    @Test func theUploadIsServedWhileKeptAndDeletedOnceTheJobHasEnded() async throws {
        let fixture = GatewayFixture()
        try await fixture.test { client in
            let id = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([], file: wav)) {
                json($0.body)["id"] as? String ?? ""
            }
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)/audio", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "audio/wav")
                #expect(Array(response.body.readableBytesView) == wav, "the bytes uploaded")
                #expect(response.headers[.contentDisposition] == "attachment; filename=\"a.wav\"")
            }
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)/audio", method: .delete) { response in
                #expect(response.status == .conflict && (json(response.body)["error"] as? [String: Any])?["code"] as? String == "job_not_finished")
            }
            // No orchestrator runs here: end the job as one would.
            try await fixture.broker.saveRecord(.job(id), fields: [JobField.status: "completed"])
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)/audio", method: .delete) { #expect($0.status == .noContent) }
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)/audio", method: .get) { response in
                #expect(response.status == .notFound && (json(response.body)["error"] as? [String: Any])?["code"] as? String == "audio_not_available")
            }
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)", method: .get) { #expect($0.status == .ok, "the job stays") }
            try await client.execute(uri: "/v1/audio/transcriptions/\(UUID())/audio", method: .get) { #expect($0.status == .notFound) }
        }
    }
}
