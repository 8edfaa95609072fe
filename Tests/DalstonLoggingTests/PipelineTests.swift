import DalstonLogging
import Foundation
import Logging
import Testing

private struct UploadError: Error, CustomStringConvertible {
    var description: String { "file is not a WAV" }
}

private enum PlainError: Error { case timedOut }

@Suite("Processor pipeline")
struct PipelineTests {
    @Test func levelsFilterPerLabel() throws {
        let logs = try CapturedLogging(level: "warning,dalston.redis=debug")
        logs.logger("dalston.gateway").info("hidden")
        logs.logger("dalston.gateway").warning("shown")
        logs.logger("dalston.redis.pool").debug("shown_debug")
        logs.logger("dalston.redis.pool").trace("hidden_trace")
        #expect(try logs.objects().map { $0["event"] as? String } == ["shown", "shown_debug"])
    }

    @Test func sourceLocationAtDebugOrWhenAsked() throws {
        let logs = try CapturedLogging()
        logs.logger().debug("d")
        logs.logger().info("i")
        let asked = try CapturedLogging { $0.includeSource = true }
        asked.logger().info("i")
        let objects = try logs.objects() + asked.objects()
        #expect(objects[0]["file"] as? String == "DalstonLoggingTests/PipelineTests.swift")
        #expect(objects[0]["line"] is Int)
        #expect(objects[0]["source"] as? String == "DalstonLoggingTests")
        #expect(objects[1]["file"] == nil)
        #expect(objects[2]["file"] as? String == "DalstonLoggingTests/PipelineTests.swift")
    }

    @Test func errorsRenderTypeAndDescription() throws {
        let logs = try CapturedLogging()
        let logger = logs.logger()
        logger.error("upload_rejected", error: UploadError())
        logger.error("timeout", metadata: ["error": .error(PlainError.timedOut)])
        logger.error("nested", metadata: ["details": ["cause": .stringConvertible(UploadError())]])
        let objects = try logs.objects()
        let first = try #require(objects[0]["error"] as? [String: String])
        #expect(first["type"]?.hasSuffix("UploadError") == true, "type is the qualified type name: \(first)")
        #expect(first["message"] == "file is not a WAV")
        let second = try #require(objects[1]["error"] as? [String: String])
        #expect(second["type"]?.hasSuffix("PlainError") == true && second["message"] == "timedOut")
        let nested = try #require((objects[2]["details"] as? [String: Any])?["cause"] as? [String: String])
        #expect(nested["message"] == "file is not a WAV")
    }

    @Test func redactionCoversKeyVariantsAndNesting() throws {
        let logs = try CapturedLogging { $0.redactedKeys += ["ssn"] }
        logs.logger().info("request", metadata: [
            "Authorization": "Bearer abc", "X-Api-Key": "k", "db_password": "p", "access_token": "t", "Set-Cookie": "c",
            "client_secret": "s", "ssn": "123", "token_count": .stringConvertible(12), "tokenizer": "bpe",
            "headers": ["cookie": "c", "accept": "json", "deeper": ["PASSWORD": "p", "list": [["api_key": "k"]]]],
        ])
        let line = try #require(logs.lines.first)
        for secret in ["Bearer abc", "\"k\"", "\"p\"", "\"t\"", "\"c\"", "\"s\"", "\"123\""] {
            #expect(!line.contains(secret), "\(secret) leaked: \(line)")
        }
        let object = try JSONLine.object(line)
        for key in ["Authorization", "X-Api-Key", "db_password", "access_token", "Set-Cookie", "client_secret", "ssn"] {
            #expect(object[key] as? String == "[REDACTED]", "\(key)")
        }
        #expect(object["token_count"] as? Int == 12)
        #expect(object["tokenizer"] as? String == "bpe")
        let headers = try #require(object["headers"] as? [String: Any])
        #expect(headers["cookie"] as? String == "[REDACTED]")
        #expect(headers["accept"] as? String == "json")
        let deeper = try #require(headers["deeper"] as? [String: Any])
        #expect(deeper["PASSWORD"] as? String == "[REDACTED]")
        #expect(((deeper["list"] as? [[String: Any]])?.first?["api_key"]) as? String == "[REDACTED]")
    }

    @Test func redactionAppliesToTaskLocalAndBoundFieldsToo() throws {
        let logs = try CapturedLogging()
        withLogContext(["api_key": "from-context"]) {
            logs.logger().bind(["password": "from-bind"]).info("x")
        }
        let line = try #require(logs.lines.first)
        #expect(!line.contains("from-context") && !line.contains("from-bind"))
    }

    @Test func userProcessorsRunBeforeRedactionAndCanDropRenameAndAdd() throws {
        let logs = try CapturedLogging {
            $0.processors = [
                DropProcessor { $0.event == "noise" },
                RenameFieldsProcessor(["msg_count": "message_count"]),
                AddFieldsProcessor(["version": "1.2.3", "token": "added-secret"]),
            ]
        }
        logs.logger().info("noise")
        logs.logger().info("kept", metadata: ["msg_count": .stringConvertible(2)])
        let objects = try logs.objects()
        #expect(objects.count == 1)
        #expect(objects[0]["message_count"] as? Int == 2)
        #expect(objects[0]["version"] as? String == "1.2.3")
        #expect(objects[0]["token"] as? String == "[REDACTED]", "a processor's output is still redacted")
    }

    @Test func samplingKeepsOneInNBelowTheLevelAndNeverDropsWarnings() throws {
        let logs = try CapturedLogging { $0.processors = [SamplingProcessor(keepOneIn: 10, below: .warning)] }
        let logger = logs.logger()
        for index in 0..<100 { logger.info("chatty", metadata: ["i": .stringConvertible(index)]) }
        for _ in 0..<7 { logger.warning("important") }
        let events = try logs.objects().map { $0["event"] as? String }
        #expect(events.filter { $0 == "chatty" }.count == 10)
        #expect(events.filter { $0 == "important" }.count == 7)
    }

    @Test func longValuesAreTruncatedOnACharacterBoundary() throws {
        let logs = try CapturedLogging { $0.maxValueBytes = 100 }
        let long = String(repeating: "é", count: 500)  // 2 bytes each: the cut must not split one
        logs.logger().info("\(long)", metadata: ["body": .string(long), "n": .stringConvertible(123_456_789)])
        let object = try JSONLine.object(try #require(logs.lines.first))
        let body = try #require(object["body"] as? String)
        #expect(body.hasPrefix(String(repeating: "é", count: 50)))
        #expect(body.hasSuffix("…[truncated 900 bytes]"))
        #expect((object["event"] as? String)?.hasSuffix("…[truncated 900 bytes]") == true)
        #expect(object["n"] as? Int == 123_456_789, "numbers are never truncated")
    }
}
