public import Instrumentation
public import Logging

/// Everything that decides how the process logs. Built from the environment by
/// `LoggingConfiguration.fromEnvironment`, adjustable in code before `configure` applies it.
public struct LoggingConfiguration: Sendable {
    /// The Dalston service name written as `service` on every line (`gateway`, `orchestrator`, ...).
    public var service: String
    public var format: LogFormat
    public var levels: LogLevelPolicy
    /// ANSI colours in the console format.
    public var colors: Bool
    /// Adds `source`/`file`/`line` to every line, not only to debug and trace lines.
    public var includeSource: Bool
    /// Keys whose values are replaced by `[REDACTED]` (see `RedactionProcessor`).
    public var redactedKeys: [String]
    /// Longest string value (and event) written, in UTF-8 bytes.
    public var maxValueBytes: Int
    /// Your processors. They run after errors are formatted and before redaction and truncation,
    /// so nothing they add can bypass redaction.
    public var processors: [any LogProcessor]
    /// Extra metadata providers merged into every line (tracing adds trace and span ids here).
    public var metadataProviders: [Logger.MetadataProvider]
    /// The current span's ids in the context a line is written in (tracing sets this): written
    /// as `trace_id` and `span_id`, without building metadata for every line.
    public var traceIDs: (@Sendable (ServiceContext) -> LogTraceIDs?)?
    public var writer: any LogLineWriter

    public init(
        service: String,
        format: LogFormat = .json,
        levels: LogLevelPolicy = LogLevelPolicy(),
        colors: Bool = false,
        includeSource: Bool = false,
        redactedKeys: [String] = RedactionProcessor.defaultKeys,
        maxValueBytes: Int = 64 * 1024,
        processors: [any LogProcessor] = [],
        metadataProviders: [Logger.MetadataProvider] = [],
        traceIDs: (@Sendable (ServiceContext) -> LogTraceIDs?)? = nil,
        writer: any LogLineWriter = FileDescriptorLineWriter.standardOutput
    ) {
        self.service = service
        self.format = format
        self.levels = levels
        self.colors = colors
        self.includeSource = includeSource
        self.redactedKeys = redactedKeys
        self.maxValueBytes = maxValueBytes
        self.processors = processors
        self.metadataProviders = metadataProviders
        self.traceIDs = traceIDs
        self.writer = writer
    }

    /// The full processor list in the order it runs.
    public var processorChain: [any LogProcessor] {
        [ErrorFormattingProcessor()] + processors
            + [RedactionProcessor(keys: redactedKeys), TruncationProcessor(maxBytes: maxValueBytes)]
    }

    /// Reads `LOG_LEVEL`, `LOG_FORMAT`, `NO_COLOR`, `FORCE_COLOR`, `LOG_INCLUDE_SOURCE`,
    /// `LOG_REDACT_KEYS` and `LOG_MAX_VALUE_BYTES`. Any value that cannot be used is an error.
    public static func fromEnvironment(
        service: String,
        environment: [String: String],
        output: FileDescriptorLineWriter = .standardOutput
    ) throws(LoggingConfigurationError) -> LoggingConfiguration {
        let isTerminal = output.isTerminal
        var configuration = LoggingConfiguration(service: service, writer: try outputWriter(for: output, environment: environment))
        configuration.levels = try LogLevelPolicy.parse(environment["LOG_LEVEL"] ?? "")
        configuration.format = try LogFormat.parse(environment["LOG_FORMAT"], outputIsTerminal: isTerminal)
        configuration.colors = try colorsEnabled(environment: environment, outputIsTerminal: isTerminal)
        configuration.includeSource = try parseBool(environment["LOG_INCLUDE_SOURCE"], variable: "LOG_INCLUDE_SOURCE") ?? false
        if let extra = environment["LOG_REDACT_KEYS"] {
            configuration.redactedKeys += extra.split(separator: ",").map { String($0.trimmingASCIIWhitespace()) }.filter { !$0.isEmpty }
        }
        if let text = environment["LOG_MAX_VALUE_BYTES"], !text.isEmpty {
            guard let bytes = Int(text.trimmingASCIIWhitespace()), bytes >= 16 else {
                throw LoggingConfigurationError(
                    variable: "LOG_MAX_VALUE_BYTES", value: text, reason: "expected a whole number of bytes, at least 16")
            }
            configuration.maxValueBytes = bytes
        }
        return configuration
    }

    /// `LOG_BUFFER_BYTES` (default 65536; 0 writes each line with its own `write(2)`),
    /// `LOG_FLUSH_INTERVAL_MS` (default 50) and `LOG_BUFFER_FULL` (`block`, the default, or `drop`).
    static func outputWriter(for output: FileDescriptorLineWriter, environment: [String: String]) throws(LoggingConfigurationError) -> any LogLineWriter {
        func number(_ variable: String, default value: Int, range: ClosedRange<Int>) throws(LoggingConfigurationError) -> Int {
            guard let text = environment[variable], !text.isEmpty else { return value }
            guard let parsed = Int(text.trimmingASCIIWhitespace()), range.contains(parsed) else {
                throw LoggingConfigurationError(
                    variable: variable, value: text, reason: "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return parsed
        }
        let bytes = try number("LOG_BUFFER_BYTES", default: 64 * 1024, range: 0...(64 * 1024 * 1024))
        let interval = try number("LOG_FLUSH_INTERVAL_MS", default: 50, range: 1...60_000)
        var policy = BufferedLineWriter.FullBufferPolicy.block
        if let text = environment["LOG_BUFFER_FULL"], !text.isEmpty {
            guard let parsed = BufferedLineWriter.FullBufferPolicy(rawValue: text.trimmingASCIIWhitespace().lowercased()) else {
                throw LoggingConfigurationError(variable: "LOG_BUFFER_FULL", value: text, reason: "expected block or drop")
            }
            policy = parsed
        }
        guard bytes > 0 else { return output }
        return BufferedLineWriter(fileDescriptor: output.fileDescriptor, capacity: bytes, flushInterval: .milliseconds(interval), policy: policy)
    }

    /// `NO_COLOR` (any non-empty value) turns colours off and wins; `FORCE_COLOR` turns them on
    /// (`0` or `false` turns them off); otherwise colours follow whether the output is a terminal.
    static func colorsEnabled(environment: [String: String], outputIsTerminal: Bool) throws(LoggingConfigurationError) -> Bool {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
        if let force = environment["FORCE_COLOR"], !force.isEmpty {
            switch force.lowercased() {
            case "0", "false", "no", "off": return false
            default: return true  // FORCE_COLOR=1/2/3/true: levels of colour support, all "on" here
            }
        }
        return outputIsTerminal
    }

    static func parseBool(_ text: String?, variable: String) throws(LoggingConfigurationError) -> Bool? {
        guard let text, !text.isEmpty else { return nil }
        switch text.trimmingASCIIWhitespace().lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw LoggingConfigurationError(variable: variable, value: text, reason: "expected true or false")
        }
    }
}
