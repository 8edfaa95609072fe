import DalstonTestSupport
import Foundation
import Testing

/// The Python runners' pure logic (clustering, speaker counts, naming known speakers) has unit
/// tests of its own in `runners/tests`, run here with the runners' Python so CI runs them too.
@Suite("Runner logic in Python")
struct RunnerLogicTests {
    @Test(.enabled("needs the runners installed in .venv (scripts/setup.sh)") {
        await TestTools.pythonCanImport(["numpy", "dalston_runners.diarize"]) || TestTools.areRequired
    })
    func theRunnersUnitTestsPass() async throws {
        let tests = TestTools.repositoryRoot.appendingPathComponent("runners/tests").path
        let command = TestTools.pythonCommand(["-m", "unittest", "discover", "-s", tests, "-v"])
        let result = try await runProcess(command.executable, arguments: command.arguments)
        // unittest reports on stderr.
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("\nOK"), "\(result.stderr)")
    }
}
