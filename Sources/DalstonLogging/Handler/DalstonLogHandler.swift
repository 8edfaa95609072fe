import Instrumentation
public import Logging

/// The swift-log handler behind every Dalston logger.
///
/// It gathers the line's fields from four places, in increasing precedence: the task-local
/// context (`withLogContext`), extra metadata providers (e.g. trace ids), the logger's own bound
/// metadata, and the call's metadata, and hands them to the shared `LogPipeline`.
///
/// It is one word with nothing to reference-count in the common case (an interned core held
/// unretained, nothing changed), because swift-log copies it on every call, below the level too.
public struct DalstonLogHandler: LogHandler {
    /// An enum, not a core and an optional overrides reference side by side: copying the common
    /// case then calls no `swift_retain` at all (not even on `nil`), which is most of what a call
    /// below the level costs.
    private enum Binding {
        /// An interned core (alive for the life of the process), nothing changed.
        case interned(Unmanaged<HandlerCore>)
        /// Something changed, or the core is not interned: the overrides hold the core.
        case overridden(HandlerOverrides)
    }

    private var binding: Binding

    public init(label: String, pipeline: LogPipeline, metadataProvider: Logger.MetadataProvider?) {
        let (core, owned) = HandlerCore.core(pipeline: pipeline, label: label)
        binding = Self.binding(
            core: core,
            overrides: HandlerOverrides.make(
                core: core, coreIsInterned: !owned, metadata: [:], explicitLevel: nil, metadataProvider: metadataProvider))
    }

    private static func binding(core: HandlerCore, overrides: HandlerOverrides?) -> Binding {
        overrides.map(Binding.overridden) ?? .interned(Unmanaged.passUnretained(core))
    }

    /// Unretained: `binding` keeps it alive (or it is interned) for as long as `self` is.
    private var core: Unmanaged<HandlerCore> {
        switch binding {
        case .interned(let core): core
        case .overridden(let overrides): Unmanaged.passUnretained(overrides.core)
        }
    }

    private var overrides: HandlerOverrides? {
        if case .overridden(let overrides) = binding { overrides } else { nil }
    }

    public var label: String { core._withUnsafeGuaranteedRef { $0.label } }
    public var pipeline: LogPipeline { core._withUnsafeGuaranteedRef { $0.pipeline } }

    /// The level from the pipeline's controller (so a change at run time reaches this logger),
    /// unless code set one on this logger.
    public var logLevel: Logger.Level {
        @inline(__always) get {
            // Below the level this is all a call costs besides swift-log's copy of the handler:
            // two loads (the core's cell, the cell's level), the controller only for labels
            // beyond its table.
            switch binding {
            case .interned(let core):
                return core._withUnsafeGuaranteedRef { core in core.labelLevel.trackedLevel ?? Self.untrackedLevel(core) }
            case .overridden(let overrides):
                return overrides.explicitLevel ?? overrides.core.labelLevel.trackedLevel ?? Self.untrackedLevel(overrides.core)
            }
        }
        set { replaceOverrides(explicitLevel: .some(newValue)) }
    }

    @inline(never)
    private static func untrackedLevel(_ core: HandlerCore) -> Logger.Level {
        core.pipeline.levelController.level(forLabel: core.label)
    }

    public var metadata: Logger.Metadata {
        get { overrides?.metadata ?? [:] }
        set { replaceOverrides(metadata: newValue) }
    }

    /// The extra providers configured for the pipeline, unless this logger was given its own.
    public var metadataProvider: Logger.MetadataProvider? {
        get { overrides?.metadataProvider ?? pipeline.extraMetadataProvider }
        set { replaceOverrides(metadataProvider: .some(newValue)) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { overrides?.metadata[key] }
        set {
            var metadata = self.metadata
            metadata[key] = newValue
            replaceOverrides(metadata: metadata)
        }
    }

    private mutating func replaceOverrides(
        metadata: Logger.Metadata? = nil, explicitLevel: Logger.Level?? = nil, metadataProvider: Logger.MetadataProvider?? = nil
    ) {
        let core = core.takeUnretainedValue()
        let current = overrides
        binding = Self.binding(
            core: core,
            overrides: HandlerOverrides.make(
                core: core,
                coreIsInterned: current?.coreIsInterned ?? true,
                metadata: metadata ?? current?.metadata ?? [:],
                explicitLevel: explicitLevel ?? current?.explicitLevel,
                metadataProvider: metadataProvider ?? current?.metadataProvider))
    }

    public func log(event: LogEvent) {
        core._withUnsafeGuaranteedRef { core in
            let pipeline = core.pipeline
            let timestamp = LogTimestamp.now()
            let serviceContext = ServiceContext.current
            let bound = serviceContext.flatMap(RenderBuffer.boundFields(in:))
            let location = pipeline.includeSource || event.level <= .debug
                ? LogSourceLocation(source: event.source, file: event.file, function: event.function, line: event.line)
                : nil
            // A logger without bound metadata or a provider of its own, in JSON with the default
            // processors: rendered straight into the line, context fields pre-rendered.
            let overrides = overrides
            if overrides.map({ $0.metadata.isEmpty && $0.metadataProvider == nil }) ?? true, let fastPath = core.jsonFastPath,
               fastPath.write(event: event, timestamp: timestamp, location: location, serviceContext: serviceContext, bound: bound, core: core) {
                return
            }
            let provided = (overrides?.metadataProvider ?? pipeline.extraMetadataProvider)?.get() ?? [:]
            var record = LogRecord(
                timestamp: timestamp,
                level: event.level,
                service: pipeline.service,
                logger: core.label,
                event: event.message.description,
                fields: Self.mergedFields(
                    context: bound?.orderedFields ?? [], provided: provided, bound: overrides?.metadata ?? [:],
                    call: event.metadata ?? [:], error: event.error),
                location: location
            )
            pipeline.emit(&record)
        }
    }

    /// Merges the sources, highest precedence first (call, then the logger's bound metadata, then
    /// extra providers, then the task-local context), dropping keys already taken, into line order.
    ///
    /// Duplicates are found by scanning the few keys already collected instead of hashing: a
    /// line has a handful of fields, and this runs on every enabled log call.
    static func mergedFields(
        context: [LogField], provided: Logger.Metadata, bound: Logger.Metadata, call: Logger.Metadata, error: (any Error)?
    ) -> [LogField] {
        var fields: [LogField] = []
        fields.reserveCapacity(call.count + 1 + bound.count + provided.count + context.count)
        for (key, value) in call {
            fields.append(LogField(key: key, value: value, order: LogField.order(of: key, isCallField: true)))
        }
        if let error, !LogField.contains("error", in: fields) {
            fields.append(LogField(key: "error", value: .error(error), order: LogField.callFieldOrder))
        }
        for (key, value) in bound where !LogField.contains(key, in: fields) {
            fields.append(LogField(key: key, value: value, order: LogField.order(of: key, isCallField: false)))
        }
        for (key, value) in provided where !LogField.contains(key, in: fields) {
            fields.append(LogField(key: key, value: value, order: LogField.order(of: key, isCallField: false)))
        }
        if fields.isEmpty {
            return context  // the common case inside a bound scope: already ordered, nothing to merge
        }
        for field in context where !LogField.contains(field.key, in: fields) {
            fields.append(field)
        }
        LogField.sortInLineOrder(&fields)
        return fields
    }
}
