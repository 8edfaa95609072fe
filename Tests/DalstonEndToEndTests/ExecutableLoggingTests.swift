import DalstonTestSupport
import Foundation
import Testing

/// Runs the built `dalston` binary as a separate process and reads its real output: the logging
/// bootstrap of a real executable.
@Suite("dalston executable")
struct ExecutableTests {
    @Test("an invalid LOG_LEVEL stops start-up with a clear error", arguments: [
        ("bogus", "\"bogus\" is not a log level"),
        ("info,dalston.redis=", "\"\" is not a log level"),
    ])
    func invalidLevel(value: String, expected: String) async throws {
        let result = try await runProcess(BuiltProducts.dalston, arguments: ["demo"], environment: ["LOG_FORMAT": "json", "LOG_LEVEL": value])
        #expect(result.status == 78)
        #expect(result.stderr.contains("invalid LOG_LEVEL="))
        #expect(result.stderr.contains(expected))
        #expect(result.stderr.contains("trace, debug, info, notice, warning (or warn), error, critical"))
        #expect(result.stdout.isEmpty, "nothing is logged with a configuration the process rejected")
    }

    @Test func invalidFormatStopsStartUp() async throws {
        let result = try await runProcess(BuiltProducts.dalston, arguments: ["demo"], environment: ["LOG_FORMAT": "yaml"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("invalid LOG_FORMAT=\"yaml\""))
    }

    @Test func demoWritesValidJSONWithCorrelationIDs() async throws {
        let result = try await runProcess(BuiltProducts.dalston, arguments: ["demo", "--jobs", "3"], environment: ["LOG_FORMAT": "json", "LOG_LEVEL": "info"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let objects = try result.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
        #expect(objects.count > 20)
        let jobLines = objects.filter { $0["job_id"] != nil }
        #expect(!jobLines.isEmpty)
        for line in jobLines {
            let job = try #require(line["job_id"] as? String)
            #expect(line["request_id"] as? String == job.replacingOccurrences(of: "job_", with: "req_"))
        }
        #expect(!result.stdout.contains("should-never-appear"), "secrets are redacted")
        #expect(objects.contains { ($0["error"] as? [String: String])?["type"]?.hasSuffix("DemoEngineError") == true })
    }

    @Test func consoleFormatIsPlainWithoutATerminal() async throws {
        let result = try await runProcess(BuiltProducts.dalston, arguments: ["demo", "--jobs", "1"], environment: ["LOG_FORMAT": "console"])
        #expect(result.status == 0)
        #expect(!result.stdout.contains("\u{1B}["), "no colours when stdout is not a terminal")
        #expect(result.stdout.contains("job_created"))
        let forced = try await runProcess(BuiltProducts.dalston, arguments: ["demo", "--jobs", "1"], environment: ["LOG_FORMAT": "console", "FORCE_COLOR": "1"])
        #expect(forced.stdout.contains("\u{1B}[32minfo"))
    }

    @Test func aClosedStdoutDoesNotCrashTheProcess() async throws {
        let result = try await runProcess(
            URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "exec \"$0\" demo --jobs 5 >&-", BuiltProducts.dalston.path],
            environment: ["LOG_FORMAT": "json"])
        #expect(result.status == 0, "exit status \(result.status); a crash from SIGPIPE would be 141 or a signal")
        #expect(result.stderr.isEmpty, "stderr: \(result.stderr)")
    }
}
