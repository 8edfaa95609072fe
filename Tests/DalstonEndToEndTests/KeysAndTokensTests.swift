import DalstonTestSupport
import Foundation
import Testing

/// Keys, tokens, tenants and per-key limits as clients meet them (`Tests/Scripts/keys_tokens_check.py`,
/// with the official OpenAI and ElevenLabs SDKs and raw WebSockets): against `dalston up`, and
/// against two gateways that share Redis, where every limit and every single-use token must hold
/// across both.
extension EndToEnd {
    @Suite("Keys, tokens and limits", .enabled("needs the test clients in .venv and the Whisper setup (scripts/setup.sh test)") {
        guard await WhisperSetup.shouldRun() else { return false }
        return await TestTools.pythonCanImport("elevenlabs") || TestTools.areRequired
    }, .serialized)
    struct KeysAndTokensTests {
        @Test func keysTokensAndLimitsAgainstDalstonUp() async throws {
            let server = try await WhisperServer.start()
            defer { server.stop() }
            let result = try await Self.run([server.base])
            #expect(result.status == 0, "\(result.output.suffix(3000))")
            #expect(result.output.contains("ALL CHECKS PASSED"), "\(result.output.suffix(3000))")
            let lines = server.process.logLines()
            #expect(lines.contains { $0["event"] as? String == "realtime_session_unauthorized" && $0["code"] as? String == "key_revoked" && $0["session_id"] != nil })
            #expect(lines.contains { $0["event"] as? String == "rate_limited" && $0["key_id"] != nil })
        }

        @Test func limitsAndTokensHoldAcrossTwoGatewaysOnRedis() async throws {
            let deployment = try await Deployment(
                extraEnvironment: WhisperSetup.environment(modelsDirectory: WhisperSetup.installedModels).merging(["DALSTON_API_KEYS": "whisper-test-key"]) { $1 },
                realtime: true, engines: ["audio-prepare", "faster-whisper", "merge"])
            defer { deployment.stop() }
            let secondPort = try freeTCPPort()
            try deployment.start("gateway", ["gateway"], as: "gateway-2", extra: ["DALSTON_PORT": "\(secondPort)"])
            let second = GatewayClient(base: URL(string: "http://127.0.0.1:\(secondPort)/")!)
            #expect(await eventually(timeout: .seconds(30)) { (try? await second.request("GET", "health").status) == 200 })
            _ = await eventually(timeout: .seconds(30)) { (try? await deployment.client.request("GET", "ready").status) == 200 }
            let first = deployment.client.base.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let result = try await Self.run([first, "http://127.0.0.1:\(secondPort)"])
            #expect(result.status == 0, "\(result.output.suffix(3000))")
            #expect(result.output.contains("ALL CHECKS PASSED"), "\(result.output.suffix(3000))")
        }

        static func run(_ bases: [String]) async throws -> (status: Int32, output: String) {
            let command = TestTools.pythonCommand(
                [OfficialClients.script("keys_tokens_check.py").path, "whisper-test-key", WhisperSetup.fixtures.path] + bases)
            let result = try await runProcess(command.executable, arguments: command.arguments)
            return (result.status, result.stdout + result.stderr)
        }
    }
}
