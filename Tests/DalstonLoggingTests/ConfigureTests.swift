import DalstonLogging
import Foundation
import Logging
import Testing

/// The process-wide bootstrap. It can run once per process, so everything that needs it is here.
@Suite("configure()", .serialized)
struct ConfigureTests {
    static let recorder = RecordingLineWriter()

    static func configureOnce() throws -> Logger {
        try DalstonLogging.configure(service: "gateway", environment: ["LOG_LEVEL": "debug,noisy.lib=error", "LOG_FORMAT": "json"]) {
            $0.writer = recorder
        }
    }

    @Test func bootstrapsOnceAndASecondCallIsHarmless() throws {
        let first = try Self.configureOnce()
        let second = try DalstonLogging.configure(service: "other", environment: ["LOG_LEVEL": "not-even-valid"])
        #expect(first.label == "dalston.gateway")
        #expect(second.label == "dalston.other")
        #expect(DalstonLogging.pipeline?.service == "gateway", "the first configuration stays")
    }

    @Test func thirdPartyLoggersGetTheTaskLocalContextAndTheirLevel() async throws {
        _ = try Self.configureOnce()
        Self.recorder.removeAll()
        // A library creates its own logger through the global LoggingSystem, knowing nothing of Dalston.
        let library = Logger(label: "third.party.client")
        let noisy = Logger(label: "noisy.lib")
        await withLogContext(["request_id": "req_lib", "job_id": "job_lib"]) {
            await Task.detached {}.value
            library.debug("library_line")
            noisy.warning("suppressed")
            noisy.error("kept")
        }
        // Other suites log through the same global system in parallel: look at these loggers only.
        let objects = try Self.recorder.lines.map(JSONLine.object)
            .filter { ["third.party.client", "noisy.lib"].contains($0["logger"] as? String ?? "") }
        #expect(objects.map { $0["event"] as? String } == ["library_line", "kept"])
        for object in objects {
            #expect(object["request_id"] as? String == "req_lib")
            #expect(object["job_id"] as? String == "job_lib")
            #expect(object["service"] as? String == "gateway")
        }
    }
}
