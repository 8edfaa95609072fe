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
        var line = LineBuffer(capacity: 64)
        line.append(self)
        return line.string
    }

    static let secondPrefixLength = 20

    /// Writes `YYYY-MM-DDTHH:MM:SS.` (20 bytes). Only constant divisors, which the compiler turns
    /// into multiplications.
    func writeSecondPrefix(to out: UnsafeMutablePointer<UInt8>) {
        let days = Self.floorDiv(secondsSinceEpoch, 86_400)
        let secondOfDay = Int(secondsSinceEpoch - days * 86_400)
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        let clampedYear = Int(min(max(year, 0), 9999))
        Self.writePair(clampedYear / 100, to: out)
        Self.writePair(clampedYear % 100, to: out + 2)
        out[4] = UInt8(ascii: "-")
        Self.writePair(month, to: out + 5)
        out[7] = UInt8(ascii: "-")
        Self.writePair(day, to: out + 8)
        out[10] = UInt8(ascii: "T")
        Self.writePair(secondOfDay / 3600, to: out + 11)
        out[13] = UInt8(ascii: ":")
        Self.writePair(secondOfDay / 60 % 60, to: out + 14)
        out[16] = UInt8(ascii: ":")
        Self.writePair(secondOfDay % 60, to: out + 17)
        out[19] = UInt8(ascii: ".")
    }

    /// Writes `ffffffZ` (7 bytes).
    static func writeMicroseconds(_ nanoseconds: Int32, to out: UnsafeMutablePointer<UInt8>) {
        let micros = Int(nanoseconds) / 1000
        writePair(micros / 10_000, to: out)
        writePair(micros / 100 % 100, to: out + 2)
        writePair(micros % 100, to: out + 4)
        out[6] = UInt8(ascii: "Z")
    }

    @inline(__always)
    private static func writePair(_ value: Int, to out: UnsafeMutablePointer<UInt8>) {
        out[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value / 10)
        out[1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
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

}
