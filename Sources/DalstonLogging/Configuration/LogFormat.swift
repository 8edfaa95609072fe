/// How each log line is written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line, for Loki, ELK, CloudWatch and `jq`.
    case json
    /// Coloured, aligned text for people at a terminal.
    case console

    /// Parses `LOG_FORMAT`; `nil` text or an empty value picks `json`, or `console` on a terminal.
    public static func parse(_ text: String?, outputIsTerminal: Bool, variable: String = "LOG_FORMAT") throws(LoggingConfigurationError) -> LogFormat {
        let trimmed = text.map { String($0.trimmingASCIIWhitespace()) } ?? ""
        if trimmed.isEmpty { return outputIsTerminal ? .console : .json }
        guard let format = LogFormat(rawValue: trimmed.lowercased()) else {
            throw LoggingConfigurationError(
                variable: variable, value: text ?? "",
                reason: "unknown format; use json or console")
        }
        return format
    }
}
