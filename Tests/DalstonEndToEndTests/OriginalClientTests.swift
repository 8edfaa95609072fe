import DalstonTestSupport
import Foundation
import Testing

/// The original Dalston's own Python SDK (`dalston_sdk`, vendored at a pinned commit) against
/// `dalston up` and against the separate processes on Redis: what a user of the Python Dalston
/// runs after moving to this one (`Tests/Scripts/original_sdk_check.py`).
extension EndToEnd {
    @Suite("The original Dalston's SDK", .enabled("needs the vendored dalston_sdk in .venv and the Whisper setup (scripts/setup.sh test)") {
        guard await WhisperSetup.shouldRun() else { return false }
        let clients = await TestTools.pythonCanImport("dalston_sdk")
        let cli = await TestTools.pythonCanImport("typer")
        return (clients && cli) || TestTools.areRequired
    }, .serialized)
    struct OriginalClientTests {
        @Test func everySDKCallWorksAgainstDalstonUp() async throws {
            let server = try await WhisperServer.start()
            defer { server.stop() }
            let result = try await Self.run(base: server.base)
            #expect(result.status == 0, "\(result.output.suffix(3000))")
            #expect(result.output.contains("ALL CHECKS PASSED"), "\(result.output.suffix(3000))")
        }

        @Test func everySDKCallWorksAgainstSeparateProcessesOnRedis() async throws {
            let deployment = try await Deployment(
                extraEnvironment: WhisperSetup.environment(modelsDirectory: WhisperSetup.installedModels).merging(["DALSTON_API_KEYS": "whisper-test-key"]) { $1 },
                engines: ["audio-prepare", "faster-whisper", "diarize", "merge"])
            defer { deployment.stop() }
            let result = try await Self.run(base: deployment.client.base.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")))
            #expect(result.status == 0, "\(result.output.suffix(3000))")
        }

        @Test func theOriginalCLIsCommandsWorkAgainstDalstonUp() async throws {
            let server = try await WhisperServer.start()
            defer { server.stop() }
            let command = TestTools.pythonCommand([OfficialClients.script("original_cli_check.py").path, server.base, "whisper-test-key", WhisperSetup.fixtures.path])
            let result = try await runProcess(command.executable, arguments: command.arguments)
            #expect(result.status == 0, "\((result.stdout + result.stderr).suffix(3000))")
            #expect(result.stdout.contains("ALL CHECKS PASSED"), "\((result.stdout + result.stderr).suffix(3000))")
        }

        static func run(base: String) async throws -> (status: Int32, output: String) {
            let command = TestTools.pythonCommand([OfficialClients.script("original_sdk_check.py").path, base, "whisper-test-key", WhisperSetup.fixtures.path])
            let result = try await runProcess(command.executable, arguments: command.arguments)
            return (result.status, result.stdout + result.stderr)
        }
    }
}
