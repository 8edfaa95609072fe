/// Reads one environment variable with a typed result and an error that names the variable, the
/// bad value and what would be accepted, so every service rejects bad configuration the same way.
public struct EnvironmentValue: Sendable {
    public let name: String
    public let text: String?

    public init(_ name: String, in environment: [String: String]) {
        self.name = name
        let raw = environment[name]
        self.text = raw.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), or `defaultValue` when unset.
    public func bool(default defaultValue: Bool) throws(ConfigurationError) -> Bool {
        guard let text else { return defaultValue }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw invalid("expected true or false")
        }
    }

    /// A TCP port (0–65535; 0 lets the system pick a free one), or `defaultValue` when unset.
    public func port(default defaultValue: Int?) throws(ConfigurationError) -> Int? {
        guard let text else { return defaultValue }
        guard let port = Int(text), (0...65_535).contains(port) else { throw invalid("expected a port number 0-65535") }
        return port
    }

    /// A number of seconds within `range`, or `defaultValue` when unset.
    public func seconds(in range: ClosedRange<Double>, default defaultValue: Duration) throws(ConfigurationError) -> Duration {
        guard let text else { return defaultValue }
        guard let seconds = Double(text), seconds.isFinite, range.contains(seconds) else {
            throw invalid("expected seconds between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound))")
        }
        return .milliseconds(Int((seconds * 1000).rounded()))
    }

    /// An integer within `range`, or `defaultValue` when unset.
    public func integer(in range: ClosedRange<Int>, default defaultValue: Int) throws(ConfigurationError) -> Int {
        guard let text else { return defaultValue }
        guard let value = Int(text), range.contains(value) else { throw invalid("expected a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return value
    }

    public func invalid(_ expectation: String) -> ConfigurationError {
        ConfigurationError(description: "invalid \(name)=\"\(text ?? "")\": \(expectation)")
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// A configuration value the process cannot start with; the message says what to change.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
