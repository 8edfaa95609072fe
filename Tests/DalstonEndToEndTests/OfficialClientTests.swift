import DalstonTestSupport
import Foundation
import Testing

/// The official Python SDKs (`elevenlabs`, `openai`, from PyPI) against a live `dalston up` with
/// an API key: what a user switching to Dalston runs.
extension EndToEnd {
    @Suite("Official client compatibility", .enabled("needs the .venv's SDKs, ffmpeg, festival and PocketSphinx (installed by .ci/run)") { await OfficialClients.shouldRun() }, .serialized)
    struct OfficialClientTests {
        @Test func theElevenLabsClientTranscribesThroughOurGateway() async throws {
            let result = try await OfficialClients.run(OfficialClients.script("elevenlabs_client_check.py"), extra: ["hello", "world", "test", "system"])
            #expect(result.status == 0, "SDK check failed: \(result.output)")
            #expect(result.output.contains("ok: SpeechToTextChunkResponseModel"))
        }

        /// Every response format, the lifecycle, the exports, five encodings and the errors, each
        /// asserted on the SDK's parsed objects and exception types (`api_client_check.py`).
        @Test func theOpenAIAndElevenLabsClientsAndTheLifecycleOverHTTP() async throws {
            let result = try await OfficialClients.run(OfficialClients.script("api_client_check.py"), extra: ["hello", "world", "test"])
            #expect(result.status == 0, "client check failed: \(result.output.suffix(3000))")
            #expect(result.output.contains("ALL CHECKS PASSED"), "\(result.output.suffix(3000))")
        }
    }
}

enum OfficialClients {
    static func script(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Scripts/\(name)")
    }

    static func isInstalled() async -> Bool {
        await TestTools.pythonCanImport(["elevenlabs", "openai", "srt", "webvtt"])
    }

    static func shouldRun() async -> Bool {
        if TestTools.areRequired { return true }
        guard TestSpeech.isAvailable else { return false }
        return await isInstalled()
    }

    /// Starts `dalston up` with an API key, runs `script BASE_URL KEY WAV extra...` against it,
    /// and returns the script's exit status and output.
    static func run(_ script: URL, extra: [String]) async throws -> (status: Int32, output: String) {
        let port = try freeTCPPort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-clients-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let server = try ServiceProcess(name: "up", arguments: ["up"], environment: [
            "DALSTON_PORT": "\(port)", "DALSTON_API_KEYS": "sdk-test-key", "DALSTON_DATA_DIR": directory.appendingPathComponent("data").path,
            "LOG_FORMAT": "json", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ], logDirectory: directory)
        defer { server.terminate() }
        let client = GatewayClient(base: URL(string: "http://127.0.0.1:\(port)/")!)
        guard await eventually(timeout: .seconds(30), { (try? await client.request("GET", "health").status) == 200 }) else {
            return (-1, "dalston up did not start: \(server.rawLines().suffix(5))")
        }
        let speech = try await TestSpeech.wav(saying: "hello world, this is a test of the transcription system")
        let command = TestTools.pythonCommand([script.path, "http://127.0.0.1:\(port)", "sdk-test-key", speech.path] + extra)
        let result = try await runProcess(command.executable, arguments: command.arguments)
        return (result.status, result.stdout + result.stderr)
    }
}
