import DalstonLogging
import Logging
import Testing

@Suite("Context binding")
struct ContextTests {
    @Test func taskLocalFieldsReachEveryLoggerAndLeaveWithTheScope() throws {
        let logs = try CapturedLogging()
        let ours = logs.logger("dalston.gateway")
        let library = logs.logger("some.library")
        withLogContext(["request_id": "req_1"]) {
            ours.info("inside")
            library.info("library_inside")
        }
        ours.info("outside")
        let objects = try logs.objects()
        #expect(objects[0]["request_id"] as? String == "req_1")
        #expect(objects[1]["request_id"] as? String == "req_1")
        #expect(objects[2]["request_id"] == nil)
    }

    @Test func nestedScopesMergeAndInnerWins() throws {
        let logs = try CapturedLogging()
        let logger = logs.logger()
        withLogContext(["request_id": "req_1", "stage": "outer"]) {
            withLogContext(["job_id": "job_1", "stage": "inner"]) {
                logger.info("nested")
            }
            logger.info("back")
        }
        let objects = try logs.objects()
        #expect(objects[0]["request_id"] as? String == "req_1")
        #expect(objects[0]["job_id"] as? String == "job_1")
        #expect(objects[0]["stage"] as? String == "inner")
        #expect(objects[1]["job_id"] == nil)
        #expect(objects[1]["stage"] as? String == "outer")
    }

    @Test func childTasksInheritAndConcurrentTasksAreIsolated() async throws {
        let logs = try CapturedLogging()
        let logger = logs.logger()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    await withLogContext(["request_id": "req_\(index)"]) {
                        await withTaskGroup(of: Void.self) { inner in
                            inner.addTask {
                                await Task.yield()
                                logger.info("child", metadata: ["expected": "req_\(index)"])
                            }
                        }
                        let detachedContext = await Task.detached { LogContext.current }.value
                        logger.info("parent", metadata: ["expected": "req_\(index)", "detached_saw": "\(detachedContext.count)"])
                    }
                }
            }
        }
        let objects = try logs.objects()
        #expect(objects.count == 100)
        for object in objects {
            #expect(object["request_id"] as? String == object["expected"] as? String)
        }
        #expect(objects.filter { $0["event"] as? String == "parent" }.allSatisfy { $0["detached_saw"] as? String == "0" },
                "a detached task starts without the context")
    }

    @Test func precedenceIsCallOverBoundOverTaskLocal() throws {
        let logs = try CapturedLogging()
        let logger = logs.logger().bind(["job_id": "bound", "engine_id": "bound"])
        withLogContext(["job_id": "local", "engine_id": "local", "request_id": "local"]) {
            logger.info("x", metadata: ["engine_id": "call"])
        }
        let object = try #require(try logs.objects().first)
        #expect(object["request_id"] as? String == "local")
        #expect(object["job_id"] as? String == "bound")
        #expect(object["engine_id"] as? String == "call")
    }

    @Test func keyOrderIsStable() throws {
        let logs = try CapturedLogging()
        let logger = logs.logger().bind(["zeta": "b", "alpha": "b", "task_id": "t"])
        withLogContext(["span_id": "s", "request_id": "r", "custom": "c", "trace_id": "tr", "worker_id": "w"]) {
            logger.info("x", metadata: ["b_call": "1", "a_call": "2", "job_id": "j", "session_id": "se", "engine_id": "e"])
        }
        let keys = JSONLine.topLevelKeys(try #require(logs.lines.first))
        #expect(keys == [
            "timestamp", "level", "service", "logger", "event",
            "request_id", "job_id", "task_id", "engine_id", "session_id", "worker_id", "trace_id", "span_id",
            "alpha", "custom", "zeta", "a_call", "b_call",
        ])
    }

    @Test func bindReturnsANewLoggerAndLeavesTheOriginal() throws {
        let logs = try CapturedLogging()
        let base = logs.logger()
        let bound = base.bind(["job_id": "job_9"])
        var subscripted = base
        subscripted[metadataKey: "task_id"] = "task_3"
        base.info("base")
        bound.info("bound")
        subscripted.info("subscripted")
        let objects = try logs.objects()
        #expect(objects[0]["job_id"] == nil && objects[0]["task_id"] == nil)
        #expect(objects[1]["job_id"] as? String == "job_9")
        #expect(objects[2]["task_id"] as? String == "task_3")
    }

    @Test func extraProvidersJoinTheSamePathAndOrder() throws {
        let trace = Logger.MetadataProvider { ["span_id": "s1", "trace_id": "t1"] }
        let tenant = Logger.MetadataProvider { ["tenant": "acme"] }
        let logs = try CapturedLogging { $0.metadataProviders = [trace, tenant] }
        withLogContext(["request_id": "req_1"]) {
            logs.logger().info("x", metadata: ["tenant": "call-wins"])
        }
        let line = try #require(logs.lines.first)
        #expect(JSONLine.topLevelKeys(line) == ["timestamp", "level", "service", "logger", "event", "request_id", "trace_id", "span_id", "tenant"])
        #expect(try JSONLine.object(line)["tenant"] as? String == "call-wins")
    }
}
