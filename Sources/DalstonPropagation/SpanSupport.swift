import Foundation
import ServiceContextModule
import Tracing

/// `withSpan` that also marks the span ERROR when the operation throws (the error is recorded
/// as an exception event by `withSpan` itself), as OpenTelemetry's conventions ask.
public func withTracedSpan<T>(
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
public struct WallClockInstant: TracerInstant {
    public let nanosecondsSinceEpoch: UInt64

    public init(_ date: Date) {
        nanosecondsSinceEpoch = UInt64(max(0, date.timeIntervalSince1970) * 1_000_000_000)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch }
}
