import DalstonTestSupport
import Foundation
import Testing

/// `dalston models pull|list|remove` against a local server in the Hugging Face hub's layout
/// (`HF_ENDPOINT`), serving the packaged tiny.en as `Systran/faster-whisper-tiny.en`: the
/// download code itself runs, and a running gateway sees the model come and go.
extension EndToEnd {
    @Suite("Model registry: dalston models against a hub", .enabled("needs .venv with the runners package and the packaged Whisper models") {
        await WhisperSetup.shouldRun()
    }, .serialized)
    struct ModelPullEndToEndTests {
        @Test func aModelIsPulledListedUsedAndRemoved() async throws {
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-hub-\(UUID().uuidString)")
            let notAModel = work.appendingPathComponent("not-a-model")
            try FileManager.default.createDirectory(at: notAModel, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: notAModel.appendingPathComponent("config.json"))
            defer { try? FileManager.default.removeItem(at: work) }
            let port = try freeTCPPort()
            let hub = try ServiceProcess(
                name: "hub", executable: URL(fileURLWithPath: TestTools.python),
                arguments: [
                    OfficialClients.script("hub_server.py").path, "\(port)",
                    "Systran/faster-whisper-tiny.en=\(WhisperSetup.installedModels.appendingPathComponent("faster-whisper-tiny.en").path)",
                    "someone/not-a-model=\(notAModel.path)",
                ],
                environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], logDirectory: work)
            defer { hub.terminate() }
            #expect(await eventually(timeout: .seconds(20)) { hub.rawLines().contains("listening \(port)") })
            let models = work.appendingPathComponent("models")
            let environment = WhisperSetup.environment(modelsDirectory: models).merging([
                "HF_ENDPOINT": "http://127.0.0.1:\(port)", "HF_HUB_DISABLE_TELEMETRY": "1", "HOME": work.path,
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ]) { $1 }
            func dalston(_ arguments: String...) async throws -> ProcessResult {
                try await runProcess(DalstonBinary.url, arguments: arguments, environment: environment)
            }

            let pulled = try await dalston("models", "pull", "Systran/faster-whisper-tiny.en")
            #expect(pulled.status == 0, "\(pulled.stdout)\(pulled.stderr)")
            #expect(pulled.stdout.contains("installed Systran/faster-whisper-tiny.en"), "\(pulled.stdout)")
            #expect(hub.rawLines().contains { $0.hasPrefix("GET /Systran/faster-whisper-tiny.en/resolve/") && $0.contains("model.bin") },
                    "the weights came from the hub: \(hub.rawLines())")
            let listed = try await dalston("models", "list", "--json")
            let entries = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
            let entry = try #require(entries.first { $0["id"] as? String == "Systran/faster-whisper-tiny.en" }, "\(listed.stdout)")
            #expect((entry["source"] as? String)?.hasPrefix("hf:http://127.0.0.1:\(port)/Systran/faster-whisper-tiny.en") == true)
            #expect(entry["multilingual"] as? Bool == false && (entry["size_bytes"] as? Int ?? 0) > 70_000_000)

            // A running gateway uses it by name, and sees it go.
            let server = try await WhisperServer.start(modelsDirectory: models)
            defer { server.stop() }
            let audio = try Data(contentsOf: WhisperSetup.fixtures.appendingPathComponent("eval-audio/clips/jfk.wav"))
            let created = try await server.client.upload(audio, fields: ["model": "Systran/faster-whisper-tiny.en"])
            let job = try await server.client.waitForJob(try #require(created.json["id"] as? String, "\(created.text)"))
            #expect(job["model"] as? String == "Systran/faster-whisper-tiny.en" && (job["text"] as? String)?.contains("fellow Americans") == true, "\(job)")
            let removed = try await dalston("models", "remove", "Systran/faster-whisper-tiny.en")
            #expect(removed.status == 0, "\(removed.stderr)")
            let refused = try await server.client.upload(audio, fields: ["model": "Systran/faster-whisper-tiny.en"])
            #expect(refused.status == 400 && refused.text.contains("dalston models pull Systran/faster-whisper-tiny.en"), "\(refused.text)")

            // A model in a directory (converted elsewhere) is added under a name of its own.
            let added = try await dalston("models", "add", WhisperSetup.installedModels.appendingPathComponent("faster-whisper-tiny.en").path, "--id", "my-tiny")
            #expect(added.status == 0 && added.stdout.contains("installed my-tiny"), "\(added.stdout)\(added.stderr)")
            let byName = try await server.client.upload(audio, fields: ["model": "my-tiny"])
            let done = try await server.client.waitForJob(try #require(byName.json["id"] as? String, "\(byName.text)"))
            #expect((done["text"] as? String)?.contains("fellow Americans") == true, "\(done)")
            #expect(try await dalston("models", "add", notAModel.path, "--id", "broken").stderr.contains("not a CTranslate2 Whisper model"))
            #expect(try await dalston("models", "remove", "my-tiny").status == 0)

            // Failures say why and leave nothing half-installed.
            let missing = try await dalston("models", "pull", "Systran/faster-whisper-nonexistent")
            #expect(missing.status != 0 && missing.stderr.contains("cannot pull Systran/faster-whisper-nonexistent"), "\(missing.stderr)")
            let wrong = try await dalston("models", "pull", "someone/not-a-model")
            #expect(wrong.status != 0 && wrong.stderr.contains("no model.bin"), "\(wrong.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: models.path)
            #expect(left.isEmpty, "left behind: \(left)")
        }
    }
}
