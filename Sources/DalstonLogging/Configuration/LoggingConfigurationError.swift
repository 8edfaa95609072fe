/// A logging setting that cannot be used as given.
///
/// The process must not start with a guessed configuration: the message names the variable, the
/// offending token and what would be accepted, so an operator can fix the deployment in one go.
public struct LoggingConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable (or option) that holds the bad value, e.g. `LOG_LEVEL`.
    public let variable: String
    /// The whole value as given.
    public let value: String
    /// What is wrong and what to use instead.
    public let reason: String

    public init(variable: String, value: String, reason: String) {
        self.variable = variable
        self.value = value
        self.reason = reason
    }

    public var description: String {
        "invalid \(variable)=\(ConsoleEscaping.quoted(value)): \(reason)"
    }
}
