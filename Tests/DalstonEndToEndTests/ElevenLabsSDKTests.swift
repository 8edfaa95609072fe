import DalstonTestSupport
import Foundation
import Testing

/// The official `elevenlabs` Python SDK (from PyPI) against a live gateway (`dalston up`).
extension EndToEnd {
    @Suite("ElevenLabs SDK compatibility", .enabled(if: ElevenLabsSDK.shouldRun, "needs `pip install elevenlabs`, festival and PocketSphinx (installed by .ci/run)"))
    struct ElevenLabsSDKTests {
        @Test func theRealClientTranscribesThroughOurGateway() async throws {
            let port = try freeTCPPort()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-el-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = try ServiceProcess(name: "up", arguments: ["up"], environment: [
                "DALSTON_PORT": "\(port)", "DALSTON_API_KEYS": "sdk-test-key", "DALSTON_DATA_DIR": directory.appendingPathComponent("data").path,
                "LOG_FORMAT": "json", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ], logDirectory: directory)
            defer { server.terminate() }
            let client = GatewayClient(base: URL(string: "http://127.0.0.1:\(port)/")!)
            #expect(await eventually(timeout: .seconds(30)) { (try? await client.request("GET", "health").status) == 200 })

            let speech = try await TestSpeech.wav(saying: "hello world, this is a test of the transcription system")
            let result = try await runPython([ElevenLabsSDK.script.path, "http://127.0.0.1:\(port)", "sdk-test-key", speech.path, "hello", "world", "test", "system"])
            #expect(result.status == 0, "SDK check failed: \(result.output)")
            #expect(result.output.contains("ok: SpeechToTextChunkResponseModel"))
        }

        private func runPython(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread {
                    let process = Process()
                    let command = TestTools.pythonCommand(arguments)
                    process.executableURL = command.executable
                    process.arguments = command.arguments
                    let pipe = Pipe()
                    process.standardOutput = pipe
                    process.standardError = pipe
                    do {
                        try process.run()
                        let data = pipe.fileHandleForReading.readDataToEndOfFile()
                        process.waitUntilExit()
                        continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        }
    }
}

enum ElevenLabsSDK {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts/elevenlabs_client_check.py")

    static let isInstalled = TestTools.pythonCanImport("elevenlabs")

    static var shouldRun: Bool { (isInstalled && TestSpeech.isAvailable) || TestTools.areRequired }
}
