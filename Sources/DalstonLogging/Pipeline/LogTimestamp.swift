#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time of an event, read with one `clock_gettime` and formatted without Foundation.
public struct LogTimestamp: Sendable, Equatable, Comparable {
    public var secondsSinceEpoch: Int64
    public var nanoseconds: Int32

    public init(secondsSinceEpoch: Int64, nanoseconds: Int32) {
        self.secondsSinceEpoch = secondsSinceEpoch
        self.nanoseconds = nanoseconds
    }

    public static func now() -> LogTimestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return LogTimestamp(secondsSinceEpoch: Int64(spec.tv_sec), nanoseconds: Int32(spec.tv_nsec))
    }

    public static func < (lhs: LogTimestamp, rhs: LogTimestamp) -> Bool {
        (lhs.secondsSinceEpoch, lhs.nanoseconds) < (rhs.secondsSinceEpoch, rhs.nanoseconds)
    }

    /// `2026-11-25T03:31:38.123456Z`: ISO-8601, UTC, microseconds.
    public var iso8601: String {
        var bytes: [UInt8] = []
        appendISO8601(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the ISO-8601 form (27 bytes) to `out`.
    func appendISO8601(to out: inout [UInt8]) {
        let days = Self.floorDiv(secondsSinceEpoch, 86_400)
        let secondOfDay = Int(secondsSinceEpoch - days * 86_400)
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        Self.appendDigits(Int(year), width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        Self.appendDigits(month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        Self.appendDigits(day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        Self.appendDigits(secondOfDay / 3600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        Self.appendDigits(secondOfDay / 60 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        Self.appendDigits(secondOfDay % 60, width: 2, to: &out)
        out.append(UInt8(ascii: "."))
        Self.appendDigits(Int(nanoseconds) / 1000, width: 6, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        let month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var remaining = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remaining / divisor % 10))
            remaining %= divisor
            divisor /= 10
        }
    }
}
