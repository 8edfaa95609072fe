public import Logging

/// Which level applies to which logger, as read from `LOG_LEVEL`.
///
/// `LOG_LEVEL=info,dalston.redis=debug,hummingbird=warning` sets a default and per-component
/// overrides. An override applies to its label and to every label below it (`dalston.redis`
/// covers `dalston.redis.pool`); the longest matching override wins. Labels match
/// case-insensitively, because libraries are inconsistent about capitalising their labels.
public struct LogLevelPolicy: Sendable, Equatable {
    /// One `label=level` entry.
    public struct Override: Sendable, Equatable {
        public let labelPrefix: String
        public let level: Logger.Level
    }

    public var defaultLevel: Logger.Level
    /// Sorted longest prefix first, so the first match is the most specific.
    public private(set) var overrides: [Override]

    public init(defaultLevel: Logger.Level = .info, overrides: [String: Logger.Level] = [:]) {
        self.defaultLevel = defaultLevel
        self.overrides = overrides
            .map { Override(labelPrefix: $0.key.lowercased(), level: $0.value) }
            .sorted { ($0.labelPrefix.utf8.count, $0.labelPrefix) > ($1.labelPrefix.utf8.count, $1.labelPrefix) }
    }

    /// The level for a logger label.
    public func level(forLabel label: String) -> Logger.Level {
        guard !overrides.isEmpty else { return defaultLevel }
        let lowered = label.lowercased()
        for override in overrides where Self.label(lowered, isCoveredBy: override.labelPrefix) {
            return override.level
        }
        return defaultLevel
    }

    private static func label(_ label: String, isCoveredBy prefix: String) -> Bool {
        guard label.hasPrefix(prefix) else { return false }
        let rest = label.utf8.dropFirst(prefix.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: ".")
    }

    /// Parses `LOG_LEVEL`. An empty value means the default (`info`).
    public static func parse(_ text: String, variable: String = "LOG_LEVEL") throws(LoggingConfigurationError) -> LogLevelPolicy {
        var defaultLevel: Logger.Level?
        var overrides: [String: Logger.Level] = [:]
        for rawToken in text.split(separator: ",", omittingEmptySubsequences: false) {
            let token = rawToken.trimmingASCIIWhitespace()
            if token.isEmpty { continue }  // tolerate "info," and "info,,x=debug"
            if let equals = token.firstIndex(of: "=") {
                let label = token[..<equals].trimmingASCIIWhitespace()
                let levelName = token[token.index(after: equals)...].trimmingASCIIWhitespace()
                guard !label.isEmpty else {
                    throw LoggingConfigurationError(
                        variable: variable, value: text,
                        reason: "\(ConsoleEscaping.quoted(token)) has no logger label before '='; write e.g. dalston.redis=debug")
                }
                guard let level = Logger.Level(name: levelName) else {
                    throw unknownLevel(levelName, in: text, variable: variable)
                }
                guard overrides.updateValue(level, forKey: label.lowercased()) == nil else {
                    throw LoggingConfigurationError(
                        variable: variable, value: text,
                        reason: "the label \(ConsoleEscaping.quoted(label)) is given more than once; keep one entry")
                }
            } else {
                guard let level = Logger.Level(name: token) else {
                    throw unknownLevel(token, in: text, variable: variable)
                }
                guard defaultLevel == nil else {
                    throw LoggingConfigurationError(
                        variable: variable, value: text,
                        reason: "more than one default level; give one level plus label=level overrides")
                }
                defaultLevel = level
            }
        }
        return LogLevelPolicy(defaultLevel: defaultLevel ?? .info, overrides: overrides)
    }

    private static func unknownLevel(_ token: Substring, in text: String, variable: String) -> LoggingConfigurationError {
        LoggingConfigurationError(
            variable: variable, value: text,
            reason: "\(ConsoleEscaping.quoted(token)) is not a log level; valid levels are \(Logger.Level.validNames)")
    }
}

extension Logger.Level {
    /// Accepts the swift-log level names case-insensitively, plus `warn`.
    public init?<S: StringProtocol>(name: S) {
        switch name.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning", "warn": self = .warning
        case "error": self = .error
        case "critical": self = .critical
        default: return nil
        }
    }

    static let validNames = "trace, debug, info, notice, warning (or warn), error, critical"
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let sub = self[...]
        guard let start = sub.firstIndex(where: { !isSpace($0) }),
              let end = sub.lastIndex(where: { !isSpace($0) })
        else { return Substring() }
        return Substring(sub[start...end])
    }
}
