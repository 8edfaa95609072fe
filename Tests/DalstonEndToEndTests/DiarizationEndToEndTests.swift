import DalstonTestSupport
import Foundation
import Testing

/// Who said what, through `dalston up` as a separate process: the diarize stage beside
/// transcription on recordings with known turns (error rate bounds, speaker counts found and
/// given), the native answer and exports, ElevenLabs' SDK, and bad input
/// (`Tests/Scripts/diarization_check.py`).
extension EndToEnd {
    @Suite("Speaker diarization", .enabled("needs the Whisper setup and the speaker embedder (scripts/setup.sh test)") {
        guard await WhisperSetup.shouldRun() else { return false }
        return await TestTools.pythonCanImport("elevenlabs") || TestTools.areRequired
    }, .serialized)
    struct DiarizationEndToEndTests {
        @Test func speakersAreFoundAndShownInEveryShape() async throws {
            let server = try await WhisperServer.start()
            defer { server.stop() }
            let command = TestTools.pythonCommand([OfficialClients.script("diarization_check.py").path, server.base, "whisper-test-key", WhisperSetup.fixtures.path])
            let result = try await runProcess(command.executable, arguments: command.arguments)
            let output = result.stdout + result.stderr
            #expect(result.status == 0, "\(output.suffix(3000))")
            #expect(output.contains("ALL CHECKS PASSED"), "\(output.suffix(3000))")
            let lines = server.process.logLines()
            // The stage is observable like the others: its runner's lines carry the job's ids.
            #expect(lines.contains { $0["event"] as? String == "speakers_found" && $0["job_id"] != nil && $0["request_id"] != nil })
            #expect(lines.contains { $0["event"] as? String == "diarization_finished" && $0["job_id"] != nil && $0["task_id"] != nil })
        }
    }
}
