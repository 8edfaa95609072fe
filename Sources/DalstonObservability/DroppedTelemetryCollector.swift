import CoreMetrics
import DalstonMetrics
import DalstonTracing
import Synchronization

/// Counts what observability itself had to discard, sampled on scrape: finished spans the export
/// queue had no room for, and log lines the writer dropped. Both start at 0, so an alert on
/// `increase(...) > 0` has a series to watch before anything is lost.
final class DroppedTelemetryCollector: MetricsCollector {
    private let spans: Counter
    private let lines: Counter
    private let reported = Mutex<(spans: UInt64, lines: UInt64)>((0, 0))
    private let readSpans: @Sendable () -> UInt64
    private let readLines: @Sendable () -> UInt64

    init(instruments: Instruments, droppedSpans: @escaping @Sendable () -> UInt64, droppedLines: @escaping @Sendable () -> UInt64) {
        spans = instruments.counter(DalstonMetric.otelSpansDropped)
        lines = instruments.counter(DalstonMetric.logLinesDropped)
        readSpans = droppedSpans
        readLines = droppedLines
    }

    func collect() async {
        let spanTotal = readSpans()
        let lineTotal = readLines()
        let (newSpans, newLines) = reported.withLock { reported in
            defer { reported = (max(reported.spans, spanTotal), max(reported.lines, lineTotal)) }
            return (spanTotal > reported.spans ? spanTotal - reported.spans : 0, lineTotal > reported.lines ? lineTotal - reported.lines : 0)
        }
        if newSpans > 0 { spans.increment(by: Int64(newSpans)) }
        if newLines > 0 { lines.increment(by: Int64(newLines)) }
    }
}
