import DalstonTestSupport
import Foundation
import Testing

/// `deploy/` is not run in CI (no Docker here), but every file in it is checked: promtool on the
/// Prometheus config and rules, `promtool test rules` on every alert, dashboards parsed and their
/// PromQL checked, compose and collector configs cross-checked (Tests/Scripts/check_deploy.sh).
@Suite("Deploy configuration")
struct DeployConfigurationTests {
    @Test(.enabled(if: findExecutable(["/usr/bin/promtool", "/usr/local/bin/promtool"]) != nil || TestTools.areRequired,
                   "promtool is not installed (apt-get install prometheus)"))
    func prometheusRulesDashboardsAndComposeFilesAreValid() async throws {
        let result = try await runProcess(
            URL(fileURLWithPath: "/bin/bash"), arguments: [repositoryRoot.appendingPathComponent("Tests/Scripts/check_deploy.sh").path],
            environment: TestTools.scriptEnvironment)
        #expect(result.status == 0, "check_deploy.sh failed:\n\(result.stdout.suffix(3000))\n\(result.stderr.suffix(2000))")
        #expect(result.stdout.contains("check_deploy: OK"))
    }
}
