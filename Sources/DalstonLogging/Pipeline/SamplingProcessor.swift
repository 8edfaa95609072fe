public import Logging
import Synchronization

/// Keeps one in `n` records below a level, to thin out chatty debug or info logs in production.
///
/// Records at `level` or above are always kept, so warnings and errors are never sampled away.
/// Counting instead of random draws keeps the cost to one atomic increment and the output
/// reproducible.
public final class SamplingProcessor: LogProcessor {
    public let keepOneIn: UInt64
    public let level: Logger.Level
    private let counter = Atomic<UInt64>(0)

    /// - Parameters:
    ///   - keepOneIn: 1 keeps everything, 10 keeps every tenth record.
    ///   - level: records at this level or above are never sampled.
    public init(keepOneIn: UInt64, below level: Logger.Level = .warning) {
        self.keepOneIn = max(1, keepOneIn)
        self.level = level
    }

    public func process(_ record: inout LogRecord) -> LogProcessorDecision {
        guard record.level < level, keepOneIn > 1 else { return .keep }
        let seen = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        return seen % keepOneIn == 0 ? .keep : .drop
    }
}
