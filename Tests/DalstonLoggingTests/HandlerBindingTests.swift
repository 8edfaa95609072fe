@testable import DalstonLogging
import Logging
import Testing

/// The handler keeps "nothing changed" and "something changed" apart (so that copying the common
/// case references nothing); a logger must not notice when it moves from one to the other.
@Suite("Log handler bindings")
struct HandlerBindingTests {
    private func pipeline(_ recorder: RecordingLineWriter) -> LogPipeline {
        LogPipeline(configuration: LoggingConfiguration(service: "test", levels: LogLevelPolicy(defaultLevel: .info), writer: recorder))
    }

    @Test func metadataBoundThenRemovedLeavesALoggerThatFollowsItsLabelAgain() throws {
        let recorder = RecordingLineWriter()
        let pipeline = pipeline(recorder)
        var logger = pipeline.makeLogger(label: "dalston.binding")
        logger[metadataKey: "job_id"] = "job_1"
        logger.info("bound")
        logger[metadataKey: "job_id"] = nil
        #expect(logger.handler.metadata.isEmpty)
        logger.info("unbound")
        pipeline.levelController.set(.debug)
        logger.debug("follows the controller")
        #expect(recorder.lines.count == 3)
        #expect(recorder.lines[0].contains(#""job_id":"job_1""#))
        #expect(!recorder.lines[1].contains("job_id") && !recorder.lines[2].contains("job_id"))
    }

    @Test func anExplicitLevelSurvivesMetadataChangesAndWinsOverTheController() {
        let recorder = RecordingLineWriter()
        let pipeline = pipeline(recorder)
        var logger = pipeline.makeLogger(label: "dalston.binding.level")
        logger.logLevel = .debug
        logger[metadataKey: "task_id"] = "task_1"
        logger[metadataKey: "task_id"] = nil
        pipeline.levelController.set(.error)
        logger.debug("explicit")
        #expect(logger.logLevel == .debug)
        #expect(recorder.lines.count == 1 && recorder.lines[0].contains("explicit"))
    }

    @Test func copiesChangeIndependently() {
        let recorder = RecordingLineWriter()
        let pipeline = pipeline(recorder)
        let original = pipeline.makeLogger(label: "dalston.binding.copies")
        var changed = original
        changed[metadataKey: "request_id"] = "req_1"
        changed.logLevel = .trace
        original.debug("hidden")
        original.info("original")
        changed.trace("changed")
        #expect(recorder.lines.count == 2)
        #expect(!recorder.lines[0].contains("req_1") && recorder.lines[1].contains(#""request_id":"req_1""#))
        #expect(original.logLevel == .info && changed.logLevel == .trace)
    }

    @Test func aLoggerWithItsOwnProviderUsesItAndKeepsTheLabelsLevel() {
        let recorder = RecordingLineWriter()
        let pipeline = pipeline(recorder)
        var logger = pipeline.makeLogger(label: "dalston.binding.provider")
        logger.handler.metadataProvider = Logger.MetadataProvider { ["tenant": "acme"] }
        logger.debug("hidden")
        logger.info("provided")
        #expect(recorder.lines.count == 1 && recorder.lines[0].contains(#""tenant":"acme""#))
    }
}
