package import Foundation
package import ServiceContextModule
package import Tracing

/// `withSpan` that also marks the span ERROR when the operation throws (the error is recorded
/// as an exception event by `withSpan` itself), as OpenTelemetry's conventions ask.
package func withTracedSpan<T>(
    _ name: String, context: ServiceContext = ServiceContext.current ?? .topLevel, ofKind kind: SpanKind = .internal,
    isolation: isolated (any Actor)? = #isolation,
    _ operation: (any Span) async throws -> T
) async rethrows -> T {
    try await withSpan(name, context: context, ofKind: kind, isolation: isolation) { span in
        do {
            return try await operation(span)
        } catch {
            span.setStatus(SpanStatus(code: .error, message: "\(error)"))
            throw error
        }
    }
}

/// A wall-clock instant for spans that started before the code that records them (a task's
/// time in the queue starts when it was enqueued, in another process).
package struct WallClockInstant: TracerInstant {
    package let nanosecondsSinceEpoch: UInt64

    package init(_ date: Date) {
        nanosecondsSinceEpoch = UInt64(max(0, date.timeIntervalSince1970) * 1_000_000_000)
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }
}
