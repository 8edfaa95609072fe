public import Logging

/// An error captured for a log line: its type and its description.
///
/// Captured eagerly as strings so that the value is `Sendable` and cheap to render, whatever
/// the original error type is. The JSON renderer writes it as `{"type": ..., "message": ...}`.
public struct LoggedError: Sendable, Equatable, CustomStringConvertible {
    /// The fully qualified type name, e.g. `DalstonRedis.RedisError`.
    public let type: String
    public let message: String

    public init(_ error: any Error) {
        if let already = error as? LoggedError {
            self = already
        } else {
            self.type = String(reflecting: Swift.type(of: error))
            self.message = String(describing: error)
        }
    }

    public init(type: String, message: String) {
        self.type = type
        self.message = message
    }

    public var description: String { "\(type): \(message)" }
}

extension LoggedError: Error {}

extension Logger.MetadataValue {
    /// Logs an error with its type, e.g. `metadata: ["error": .error(error)]`.
    public static func error(_ error: any Error) -> Logger.MetadataValue {
        .stringConvertible(LoggedError(error))
    }
}
