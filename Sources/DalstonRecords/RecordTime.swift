import DalstonCore
package import Foundation

/// Instants as the record database keeps them: the ISO-8601 text people read (and that sorts
/// as time does, being fixed-width UTC) and, where rows are ordered or paged, milliseconds.
package enum RecordTime {
    package static var now: String { Timestamp.now }

    package static func text(_ date: Date) -> String {
        Timestamp.string(date)
    }

    package static func text(_ date: Date?) -> SQLValue {
        .text(date.map(Timestamp.string))
    }

    package static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    package static func date(_ text: String?) -> Date? {
        text.flatMap(Timestamp.date)
    }
}
