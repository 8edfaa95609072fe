import DalstonBroker
import DalstonCore
import DalstonGateway
import DalstonPipeline
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The native job lifecycle through the router: listing pages, filters, renaming, refusals.
@Suite("Job lifecycle API")
struct LifecycleTests {
    /// 250 jobs paged 7 at a time: every job exactly once, newest first, while jobs are added
    /// between pages; then filtered by status and age.
    @Test func paginationAcross250JobsHasNoDuplicatesOrGaps() async throws {
        let fixture = GatewayFixture()
        try await fixture.test(live: true) { client in
            var created: [String] = []
            for _ in 0..<250 {
                created.append(try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([], file: wav)) {
                    json($0.body)["id"] as? String ?? ""
                })
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let query = "/v1/audio/transcriptions?limit=7" + (cursor.map { "&cursor=\($0)" } ?? "")
                let (ids, next, more) = try await client.execute(uri: query, method: .get) { response in
                    let object = json(response.body)
                    return ((object["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }, object["cursor"] as? String, object["has_more"] as? Bool ?? false)
                }
                seen += ids
                cursor = more ? next : nil
                pages += 1
                if pages == 3 {
                    // Jobs created meanwhile are newer than the cursor: they do not shift the pages.
                    _ = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([], file: wav)) { _ in }
                }
            } while cursor != nil && pages < 100
            #expect(seen.count == 250 && Set(seen).count == 250, "\(seen.count) listed, \(Set(seen).count) distinct")
            #expect(Set(seen) == Set(created))
            #expect(pages == 36)

            for id in created.prefix(40) { try await fixture.broker.saveRecord(.job(id), fields: [JobField.status: "completed"]) }
            var completed: [String] = []
            cursor = nil
            repeat {
                let query = "/v1/audio/transcriptions?status=completed&limit=15" + (cursor.map { "&cursor=\($0)" } ?? "")
                let (ids, next) = try await client.execute(uri: query, method: .get) { response in
                    let object = json(response.body)
                    return ((object["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }, object["cursor"] as? String)
                }
                completed += ids
                cursor = next
            } while cursor != nil
            #expect(Set(completed) == Set(created.prefix(40)) && completed.count == 40)

            let future = Timestamp.string(Date().addingTimeInterval(3600))
            try await client.execute(uri: "/v1/audio/transcriptions?since=\(future)", method: .get) { response in
                #expect((json(response.body)["jobs"] as? [Any])?.isEmpty == true)
                #expect(json(response.body)["has_more"] as? Bool == false)
            }
            for bad in ["cursor=bm9wZQ", "status=done", "since=yesterday", "limit=101"] {
                try await client.execute(uri: "/v1/audio/transcriptions?\(bad)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    #expect((json(response.body)["error"] as? [String: String])?["code"] == "invalid_request", "\(bad)")
                }
            }
        }
    }

    @Test func aJobIsNamedAtSubmissionAndRenamed() async throws {
        try await GatewayFixture().test { client in
            let id = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([("display_name", "Board meeting"), ("model", "pocketsphinx-en-us")], file: wav)
            ) { response in
                #expect(json(response.body)["display_name"] as? String == "Board meeting")
                return json(response.body)["id"] as? String ?? ""
            }
            let rename = ByteBuffer(string: #"{"display_name": "Board meeting, March"}"#)
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)", method: .patch, headers: [.contentType: "application/json"], body: rename) { response in
                #expect(response.status == .ok)
                #expect(json(response.body)["display_name"] as? String == "Board meeting, March")
                #expect(json(response.body)["model"] as? String == "pocketsphinx-en-us")
            }
            for body in [#"{"status": "completed"}"#, #"{"display_name": ""}"#, "not json"] {
                try await client.execute(uri: "/v1/audio/transcriptions/\(id)", method: .patch, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest, "\(body)")
                }
            }
            try await client.execute(uri: "/v1/audio/transcriptions/\(UUID())", method: .patch, body: rename) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v1/audio/transcriptions/\(id)/export/srt", method: .get) { response in
                #expect(response.status == .conflict, "no export before the job is completed")
            }
        }
    }

    /// Nothing a client asks for is dropped: what cannot be honoured is a 400 that names it, in
    /// the dialect of the endpoint.
    @Test(arguments: [
        ("speaker_detection", "per_channel", "speaker_detection"), ("num_speakers", "2", "num_speakers"), ("pii_detection", "true", "pii_detection"),
        ("audio_url", "https://example.com/a.mp3", "audio_url"), ("colour", "blue", "colour"), ("model", "whisperx-large-v3", "whisperx-large-v3"),
        ("language", "fr", "language fr"), ("prompt", "names", "prompt"),
    ])
    func unhonourableNativeFieldsAreRefusedByName(field: String, value: String, mentioned: String) async throws {
        let fixture = GatewayFixture()
        try await fixture.test { client in
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([(field, value)], file: wav)) { response in
                let error = json(response.body)["error"] as? [String: String]
                #expect(response.status == .badRequest, "\(field)")
                #expect(error?["message"]?.contains(mentioned) == true, "\(error ?? [:])")
            }
        }
        #expect(fixture.storedFiles.isEmpty)
        #expect(try await fixture.broker.indexMembers(PipelineIndex.jobs, limit: 5).isEmpty)
    }

    @Test func openAIAndElevenLabsErrorsComeInTheirOwnShapes() async throws {
        try await GatewayFixture().test { client in
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers(), body: multipart([("model", "whisper-1"), ("response_format", "docx")], file: wav)) { response in
                let error = json(response.body)["error"] as? [String: Any]
                #expect(response.status == .badRequest)
                #expect(error?["type"] as? String == "invalid_request_error" && error?["param"] as? String == "response_format", "\(error ?? [:])")
            }
            try await client.execute(uri: "/v1/audio/translations", method: .post, headers: headers(), body: multipart([("model", "whisper-1")], file: wav)) { response in
                #expect(response.status == .badRequest)
                #expect((json(response.body)["error"] as? [String: Any])?["code"] as? String == "translation_not_available")
            }
            try await client.execute(uri: "/v1/speech-to-text", method: .post, headers: headers(), body: multipart([("model_id", "scribe_v9")], file: wav)) { response in
                #expect(response.status == .badRequest)
                #expect((json(response.body)["detail"] as? [String: String])?["message"]?.contains("scribe_v9") == true)
            }
            try await client.execute(uri: "/v1/speech-to-text", method: .post, headers: headers(), body: multipart([("use_multi_channel", "true")], file: wav)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let object = json(response.body)
                let ids = (object["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                #expect(object["object"] as? String == "list")
                #expect(Set(["whisper-1", "gpt-4o-transcribe", "scribe_v1", "pocketsphinx-en-us"]).isSubset(of: Set(ids)), "\(ids)")
            }
            try await client.execute(uri: "/health", method: .get) { #expect(json($0.body)["status"] as? String == "healthy") }
        }
    }
}
