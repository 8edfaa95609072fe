import Instrumentation
import Logging

/// Fields bound for the current task and its children, in the way structlog's contextvars work.
///
/// The fields live in the task-local `ServiceContext`, the same carrier distributed tracing uses,
/// so log fields and trace context travel together, and both reach every logger (also those of
/// third-party libraries) through one `Logger.MetadataProvider`.
public enum LogContext {
    /// The fields bound by the enclosing `withLogContext` scopes, innermost winning.
    public static var current: Logger.Metadata {
        ServiceContext.current?[LogFieldsKey.self] ?? [:]
    }

    /// Adds the task-local fields to every log line; installed by `DalstonLogging.configure`.
    public static let metadataProvider = Logger.MetadataProvider { current }

    static func context(merging fields: Logger.Metadata) -> ServiceContext {
        var context = ServiceContext.current ?? .topLevel
        if let outer = context[LogFieldsKey.self], !outer.isEmpty {
            context[LogFieldsKey.self] = outer.merging(fields) { _, inner in inner }
        } else {
            context[LogFieldsKey.self] = fields
        }
        return context
    }
}

enum LogFieldsKey: ServiceContextKey {
    typealias Value = Logger.Metadata
    static var nameOverride: String? { "dalston.log_fields" }
}

/// Runs `body` with `fields` on every log line written inside it, in any logger and in child
/// tasks. Nested scopes merge (inner values win); leaving the scope removes the fields.
public func withLogContext<Result>(
    _ fields: Logger.Metadata,
    _ body: () throws -> Result
) rethrows -> Result {
    try ServiceContext.withValue(LogContext.context(merging: fields), operation: body)
}

/// Runs `body` with `fields` on every log line written inside it, in any logger and in child
/// tasks. Nested scopes merge (inner values win); leaving the scope removes the fields.
public func withLogContext<Result>(
    _ fields: Logger.Metadata,
    isolation: isolated (any Actor)? = #isolation,
    _ body: () async throws -> Result
) async rethrows -> Result {
    try await ServiceContext.withValue(LogContext.context(merging: fields), isolation: isolation, operation: body)
}

extension Logger {
    /// A copy of this logger that adds `fields` to each of its lines (structlog's `bind`).
    public func bind(_ fields: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in fields {
            copy[metadataKey: key] = value
        }
        return copy
    }
}
