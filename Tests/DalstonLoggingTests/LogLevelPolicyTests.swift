import DalstonLogging
import Logging
import Testing

@Suite("LOG_LEVEL parsing")
struct LogLevelPolicyTests {
    @Test("every level name, any case, plus warn", arguments: [
        ("trace", Logger.Level.trace), ("DEBUG", .debug), ("Info", .info), ("notice", .notice),
        ("warning", .warning), ("WARN", .warning), ("error", .error), ("critical", .critical),
    ])
    func names(text: String, level: Logger.Level) throws {
        let policy = try LogLevelPolicy.parse(text)
        #expect(policy.defaultLevel == level)
        #expect(policy.level(forLabel: "anything") == level)
    }

    @Test func emptyMeansInfo() throws {
        #expect(try LogLevelPolicy.parse("").defaultLevel == .info)
        #expect(try LogLevelPolicy.parse("  ").defaultLevel == .info)
    }

    @Test func overridesUseLongestLabelPrefix() throws {
        let policy = try LogLevelPolicy.parse("info, dalston.redis=debug, dalston.redis.pool=trace, hummingbird=warning,dalston=notice")
        #expect(policy.level(forLabel: "dalston.redis") == .debug)
        #expect(policy.level(forLabel: "dalston.redis.subscriber") == .debug)
        #expect(policy.level(forLabel: "dalston.redis.pool") == .trace)
        #expect(policy.level(forLabel: "dalston.redis.pool.conn") == .trace)
        #expect(policy.level(forLabel: "dalston.gateway") == .notice)
        #expect(policy.level(forLabel: "Hummingbird") == .warning, "labels match case-insensitively")
        #expect(policy.level(forLabel: "dalston.redistribute") == .notice, "a prefix only matches at a '.' boundary")
        #expect(policy.level(forLabel: "other") == .info)
    }

    @Test func overridesWithoutDefaultKeepInfo() throws {
        let policy = try LogLevelPolicy.parse("dalston.redis=debug,")
        #expect(policy.defaultLevel == .info)
        #expect(policy.level(forLabel: "dalston.redis") == .debug)
    }

    @Test("bad values name the token and the valid names", arguments: [
        ("verbose", "\"verbose\" is not a log level"),
        ("info,dalston.redis=loud", "\"loud\" is not a log level"),
        ("info,=debug", "has no logger label"),
        ("info,debug", "more than one default level"),
        ("a=debug,A=info", "given more than once"),
    ])
    func errors(text: String, expected: String) {
        #expect {
            try LogLevelPolicy.parse(text)
        } throws: { error in
            guard let error = error as? LoggingConfigurationError else { return false }
            let message = error.description
            return error.variable == "LOG_LEVEL" && message.contains(expected) && message.contains("LOG_LEVEL=")
                && (!expected.contains("not a log level") || message.contains("trace, debug, info, notice, warning (or warn), error, critical"))
        }
    }
}

@Suite("Environment configuration")
struct EnvironmentConfigurationTests {
    @Test func formatDefaultsFollowTheTerminal() throws {
        #expect(try LogFormat.parse(nil, outputIsTerminal: false) == .json)
        #expect(try LogFormat.parse(nil, outputIsTerminal: true) == .console)
        #expect(try LogFormat.parse(" JSON ", outputIsTerminal: true) == .json)
        #expect(try LogFormat.parse("console", outputIsTerminal: false) == .console)
    }

    @Test func badFormatIsAnError() {
        #expect(throws: LoggingConfigurationError.self) { try LogFormat.parse("yaml", outputIsTerminal: false) }
    }

    @Test func fullEnvironment() throws {
        let configuration = try LoggingConfiguration.fromEnvironment(service: "gateway", environment: [
            "LOG_LEVEL": "warning,dalston.redis=debug", "LOG_FORMAT": "console", "FORCE_COLOR": "1",
            "LOG_INCLUDE_SOURCE": "true", "LOG_REDACT_KEYS": "ssn, card_number", "LOG_MAX_VALUE_BYTES": "1024",
        ])
        #expect(configuration.service == "gateway")
        #expect(configuration.format == .console)
        #expect(configuration.colors)
        #expect(configuration.includeSource)
        #expect(configuration.levels.level(forLabel: "dalston.redis.pool") == .debug)
        #expect(configuration.levels.defaultLevel == .warning)
        #expect(configuration.redactedKeys.contains("ssn") && configuration.redactedKeys.contains("card_number"))
        #expect(configuration.maxValueBytes == 1024)
    }

    @Test func colourRules() throws {
        #expect(try LoggingConfiguration.fromEnvironment(service: "s", environment: ["NO_COLOR": "1", "FORCE_COLOR": "1"]).colors == false)
        #expect(try LoggingConfiguration.fromEnvironment(service: "s", environment: ["FORCE_COLOR": "0"]).colors == false)
        #expect(try LoggingConfiguration.fromEnvironment(service: "s", environment: ["FORCE_COLOR": "3"]).colors == true)
    }

    @Test("bad values are errors, never fallbacks", arguments: [
        ["LOG_INCLUDE_SOURCE": "maybe"], ["LOG_MAX_VALUE_BYTES": "lots"], ["LOG_MAX_VALUE_BYTES": "3"],
        ["LOG_FORMAT": "xml"], ["LOG_LEVEL": "loud"],
    ])
    func badValues(environment: [String: String]) {
        #expect(throws: LoggingConfigurationError.self) {
            try LoggingConfiguration.fromEnvironment(service: "s", environment: environment)
        }
    }
}
