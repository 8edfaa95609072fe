import DalstonTestSupport
import Foundation
import Testing

/// Live Whisper through `dalston up` as a separate process (`Tests/Scripts/live_whisper_check.py`):
/// real speech at real time through the native protocol, the official ElevenLabs SDK (VAD and
/// manual commits) and OpenAI's events, partials before finals, confirmed words never taken
/// back, word-error bounds; a five-minute stream whose finals do not slow down; ten minutes sent
/// as fast as the socket allows (back-pressure, every final, flat memory); models and languages
/// refused in each dialect's shape; the shared runner killed mid-session.
extension EndToEnd {
    @Suite("Live Whisper", .enabled("needs the Whisper setup and the elevenlabs client (scripts/setup.sh test)") {
        guard await WhisperSetup.shouldRun() else { return false }
        return await TestTools.pythonCanImport("elevenlabs") || TestTools.areRequired
    }, .serialized)
    struct LiveWhisperEndToEndTests {
        @Test func liveSessionsHearWithWhisperInEveryDialect() async throws {
            let server = try await WhisperServer.start()
            defer { server.stop() }
            // The worker starts the shared runner before it announces itself.
            var runnerPID: Int?
            _ = await eventually(timeout: .seconds(60)) {
                let line = server.process.logLines().first { $0["event"] as? String == "runner_started" && $0["logger"] as? String == "dalston.realtime.runner" }
                runnerPID = (line?["runner_pid"] as? NSNumber)?.intValue
                return runnerPID != nil
            }
            let pid = try #require(runnerPID, "the realtime worker's Whisper runner did not start")
            let command = TestTools.pythonCommand([
                OfficialClients.script("live_whisper_check.py").path, server.base, "whisper-test-key",
                WhisperSetup.fixtures.appendingPathComponent("eval-audio").path, "\(server.process.pid)", "\(pid)",
            ])
            let result = try await runProcess(command.executable, arguments: command.arguments)
            let output = result.stdout + result.stderr
            #expect(result.status == 0, "\(output.suffix(3000))")
            #expect(output.contains("ALL CHECKS PASSED"), "\(output.suffix(3000))")
            let lines = server.process.logLines()
            // Observable like the rest: each session's start names its model, and the runner's
            // death and its replacement are logged.
            #expect(lines.contains { $0["event"] as? String == "realtime_session_started" && $0["model"] as? String == "faster-whisper-tiny.en" && $0["session_id"] != nil })
            #expect(lines.contains { $0["event"] as? String == "realtime_session_started" && $0["model"] as? String == "pocketsphinx-en-us" })
            #expect(lines.contains { $0["event"] as? String == "runner_discarded" && $0["reason"] as? String == "crashed" })
            #expect(lines.filter { $0["event"] as? String == "runner_started" && $0["logger"] as? String == "dalston.realtime.runner" }.count == 2,
                    "a new runner replaced the killed one")
        }
    }
}
