@testable import DalstonLogging
import Logging
import Testing

@Suite("Log levels at run time")
struct LogLevelControllerTests {
    @Test func existingLoggersFollowChangesAndReverts() throws {
        let recorder = RecordingLineWriter()
        let pipeline = LogPipeline(configuration: LoggingConfiguration(service: "test", levels: try LogLevelPolicy.parse("info,dalston.redis=warning"), writer: recorder))
        let orchestrator = pipeline.makeLogger(label: "dalston.orchestrator")
        let redis = pipeline.makeLogger(label: "dalston.redis.pool")
        orchestrator.debug("before")
        #expect(recorder.lines.isEmpty)

        let global = pipeline.levelController.set(.debug)
        orchestrator.debug("during")
        redis.info("still_warning")
        #expect(recorder.lines.count == 1 && recorder.lines[0].contains("during"), "the override of dalston.redis still applies")

        let redisChange = pipeline.levelController.set(.trace, forLabelPrefix: "dalston.redis")
        redis.trace("traced")
        #expect(recorder.lines.last?.contains("traced") == true)
        #expect(pipeline.levelController.revert(redisChange))
        redis.info("warning_again")
        #expect(recorder.lines.last?.contains("warning_again") == false)

        #expect(pipeline.levelController.revert(global))
        orchestrator.debug("after")
        #expect(!recorder.lines.contains { $0.contains("after") })
        #expect(pipeline.levels == (try LogLevelPolicy.parse("info,dalston.redis=warning")))
    }

    @Test func aRevertDoesNotUndoALaterChange() {
        let controller = LogLevelController(LogLevelPolicy(defaultLevel: .info))
        let first = controller.set(.debug)
        _ = controller.set(.error)
        #expect(!controller.revert(first), "the later change stands")
        #expect(controller.policy.defaultLevel == .error)
    }

    @Test func codeCanStillSetALoggersOwnLevel() {
        let recorder = RecordingLineWriter()
        let pipeline = LogPipeline(configuration: LoggingConfiguration(service: "test", levels: LogLevelPolicy(defaultLevel: .info), writer: recorder))
        var logger = pipeline.makeLogger(label: "x")
        logger.logLevel = .trace
        pipeline.levelController.set(.error)
        logger.trace("explicit")
        #expect(recorder.lines.count == 1)
    }

    @Test func loggersBeyondTheTrackedLabelsStillFollowChanges() {
        let recorder = RecordingLineWriter()
        let pipeline = LogPipeline(configuration: LoggingConfiguration(service: "test", levels: LogLevelPolicy(defaultLevel: .info), writer: recorder))
        var loggers: [Logger] = []
        for index in 0..<(LogLevelController.maximumTrackedLabels + 10) {
            loggers.append(pipeline.makeLogger(label: "dalston.dynamic.\(index)"))
        }
        let first = loggers[0]
        guard let last = loggers.last else { return }
        first.debug("hidden")
        last.debug("hidden")
        pipeline.levelController.set(.debug, forLabelPrefix: "dalston.dynamic")
        first.debug("tracked")
        last.debug("untracked")
        #expect(recorder.lines.count == 2 && recorder.lines[1].contains("untracked"))
        // A logger made after the change starts at the changed level.
        pipeline.makeLogger(label: "dalston.dynamic.new").debug("late")
        #expect(recorder.lines.last?.contains("late") == true)
    }
}
