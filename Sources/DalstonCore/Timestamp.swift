public import Foundation

/// The one text form of an instant in Dalston's records, messages and API responses:
/// ISO-8601 UTC with milliseconds (`2026-12-01T11:51:28.123Z`).
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func string(_ date: Date) -> String {
        date.formatted(style)
    }

    /// Reads the form `string` writes, and plain ISO-8601 without fractions.
    public static func date(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: style) { return date }
        return try? Date(text, strategy: .iso8601)
    }

    public static var now: String { string(Date()) }
}

extension Duration {
    /// The duration in seconds, as metrics, spans and back-off arithmetic want it.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
