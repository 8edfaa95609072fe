import Instrumentation
public import Logging
import Synchronization

/// Fields bound for the current task and its children, in the way structlog's contextvars work.
///
/// The fields live in the task-local `ServiceContext`, the same carrier distributed tracing uses,
/// so log fields and trace context travel together. Every Dalston handler reads them on every
/// line, whichever logger wrote it (also the loggers of third-party libraries).
public enum LogContext {
    /// The fields bound by the enclosing `withLogContext` scopes, innermost winning.
    public static var current: Logger.Metadata {
        ServiceContext.current?[LogFieldsKey.self]?.metadata ?? [:]
    }

    /// The same fields as a swift-log metadata provider, for handlers other than Dalston's.
    public static let metadataProvider = Logger.MetadataProvider { current }

    static func context(merging fields: Logger.Metadata) -> ServiceContext {
        var context = ServiceContext.current ?? .topLevel
        let merged: Logger.Metadata
        if let outer = context[LogFieldsKey.self]?.metadata, !outer.isEmpty {
            merged = outer.merging(fields) { _, inner in inner }
        } else {
            merged = fields
        }
        context[LogFieldsKey.self] = BoundLogFields(metadata: merged)
        return context
    }
}

/// One scope's fields, in both shapes: the dictionary for readers, the ordered list for handlers,
/// and (made on the first JSON line in the scope) the rendered JSON the fast path copies.
final class BoundLogFields: Sendable {
    let metadata: Logger.Metadata
    let orderedFields: [LogField]
    /// The rendered JSON (an `Unmanaged<RenderedContext>`'s bits, retained once): read with one
    /// atomic load and no retain on every line.
    private let rendered = Atomic<UInt>(0)
    /// Renderings for other pipelines than the first (tests), kept until the scope ends.
    private let others = Mutex<[RenderedContext]>([])

    deinit {
        let bits = rendered.load(ordering: .acquiring)
        if bits != 0, let pointer = UnsafeRawPointer(bitPattern: bits) {
            Unmanaged<RenderedContext>.fromOpaque(pointer).release()
        }
    }

    func renderedContext(for pipeline: ObjectIdentifier) -> Unmanaged<RenderedContext>? {
        let bits = rendered.load(ordering: .acquiring)
        guard bits != 0, let pointer = UnsafeRawPointer(bitPattern: bits) else { return nil }
        let context = Unmanaged<RenderedContext>.fromOpaque(pointer)
        if context._withUnsafeGuaranteedRef({ $0.pipeline == pipeline }) { return context }
        return others.withLock { others in
            others.first { $0.pipeline == pipeline }.map { Unmanaged.passUnretained($0) }
        }
    }

    /// Keeps `context` for the scope's life and returns the one to use (another thread may have
    /// stored the same rendering first).
    func keepRenderedContext(_ context: RenderedContext) -> Unmanaged<RenderedContext> {
        let retained = Unmanaged.passRetained(context)
        let bits = UInt(bitPattern: retained.toOpaque())
        let (exchanged, existing) = rendered.compareExchange(expected: 0, desired: bits, ordering: .acquiringAndReleasing)
        if exchanged { return retained }
        retained.release()
        if let pointer = UnsafeRawPointer(bitPattern: existing) {
            let stored = Unmanaged<RenderedContext>.fromOpaque(pointer)
            if stored._withUnsafeGuaranteedRef({ $0.pipeline == context.pipeline }) { return stored }
        }
        others.withLock { $0.append(context) }
        return Unmanaged.passUnretained(context)
    }

    init(metadata: Logger.Metadata) {
        self.metadata = metadata
        var fields = metadata.map { LogField(key: $0.key, value: $0.value, order: LogField.order(of: $0.key, isCallField: false)) }
        LogField.sortInLineOrder(&fields)
        self.orderedFields = fields
    }
}

enum LogFieldsKey: ServiceContextKey {
    typealias Value = BoundLogFields
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
