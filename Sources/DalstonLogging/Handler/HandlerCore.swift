import Logging
import Synchronization

/// What every handler of one logger label shares: its pipeline, its level cell and its
/// pre-rendered JSON header. One per pipeline and label, kept for the life of the process.
///
/// swift-log copies a logger's handler out of its existential on every call, below the level
/// too; a handler holding several references pays a retain and a release for each. Handlers
/// therefore refer to their core without reference counting (see `DalstonLogHandler`), which is
/// only sound because cores are never freed: they are interned here, per pipeline and label.
final class HandlerCore: Sendable {
    let label: String
    let pipeline: LogPipeline
    /// The controller's, kept alive by it: read on every call, below the level too, without a retain.
    unowned(unsafe) let labelLevel: LabelLevel
    /// `"service":"…","logger":"…","event":` for this label's JSON lines.
    let renderedHeader: [UInt8]
    /// The pipeline's, kept alive by it: read on every line without a retain.
    unowned(unsafe) let jsonFastPath: JSONFastPath?

    private init(label: String, pipeline: LogPipeline) {
        self.label = label
        self.pipeline = pipeline
        self.labelLevel = pipeline.levelController.cell(forLabel: label)
        self.renderedHeader = JSONLineRenderer.serviceAndLogger(service: pipeline.service, logger: label)
        self.jsonFastPath = pipeline.jsonFastPath
    }

    private struct Key: Hashable {
        let pipeline: ObjectIdentifier
        let label: String
    }

    private static let interned = Mutex<[Key: HandlerCore]>([:])
    /// Beyond this many, cores are no longer interned but owned by their handlers (a process
    /// making loggers with endless distinct labels must not grow this table without bound).
    static let maximumInterned = 16_384

    /// The core for `label`, and whether the handler must own it (not interned).
    static func core(pipeline: LogPipeline, label: String) -> (core: HandlerCore, owned: Bool) {
        let key = Key(pipeline: ObjectIdentifier(pipeline), label: label)
        return interned.withLock { table in
            if let core = table[key] { return (core, false) }
            let core = HandlerCore(label: label, pipeline: pipeline)
            guard table.count < maximumInterned else { return (core, true) }
            table[key] = core
            return (core, false)
        }
    }
}

/// A handler's state beyond its core, present only when it differs from the label's defaults
/// (metadata bound to the logger, a level set in code, a metadata provider of its own) or when
/// the core is not interned and must be kept alive. Replaced, never mutated, so handler copies
/// share it safely.
final class HandlerOverrides: Sendable {
    /// Held strongly: a core that is not interned lives as long as a handler refers to it.
    let core: HandlerCore
    let coreIsInterned: Bool
    let metadata: Logger.Metadata
    let explicitLevel: Logger.Level?
    let metadataProvider: Logger.MetadataProvider?

    private init(
        core: HandlerCore, coreIsInterned: Bool, metadata: Logger.Metadata, explicitLevel: Logger.Level?, metadataProvider: Logger.MetadataProvider?
    ) {
        self.core = core
        self.coreIsInterned = coreIsInterned
        self.metadata = metadata
        self.explicitLevel = explicitLevel
        self.metadataProvider = metadataProvider
    }

    /// `nil` when nothing differs from the defaults any more and the core is interned.
    static func make(
        core: HandlerCore, coreIsInterned: Bool, metadata: Logger.Metadata, explicitLevel: Logger.Level?, metadataProvider: Logger.MetadataProvider?
    ) -> HandlerOverrides? {
        if coreIsInterned && metadata.isEmpty && explicitLevel == nil && metadataProvider == nil { return nil }
        return HandlerOverrides(
            core: core, coreIsInterned: coreIsInterned, metadata: metadata, explicitLevel: explicitLevel, metadataProvider: metadataProvider)
    }
}
