import Instrumentation
import Logging
import Synchronization

/// A JSON line written without building a `LogRecord`, for loggers without bound metadata when
/// only the built-in processors run (every Dalston service).
///
/// The scope's context fields are processed and rendered once, on the scope's first line, and
/// copied into every later line; the call's own fields go through the same per-field steps as the
/// processor chain (errors formatted, secrets redacted, long values cut) and the same renderer
/// pieces. The bytes are those of the general path, and a test holds the two to that.
///
/// A line it could not write identically goes the general way (`write` returns false): a call
/// field that overrides a context field or is one of the well-known keys, extra provider fields
/// other than the trace ids, or context keys that are renamed only on lines with a location.
final class JSONFastPath: Sendable {
    let redaction: RedactionProcessor
    let truncation: TruncationProcessor
    /// The pipeline's, copied here so that a line is written without going through the pipeline.
    let output: LogOutput
    /// Providers other than the trace ids.
    let extraMetadataProvider: Logger.MetadataProvider?
    let traceIDs: (@Sendable (ServiceContext) -> LogTraceIDs?)?
    /// Whether the ids can be written as they are: the processors would leave them alone (neither
    /// key redacted, the limit above their 32 bytes).
    private let writesTraceIDsAsTheyAre: Bool
    /// Tells this path's facts apart in the per-thread key caches (an address could be reused).
    let id: UInt64

    private static let nextID = Atomic<UInt64>(1)
    /// `"[REDACTED]"`, what a secret's value becomes.
    private static let redactedValue: [UInt8] = {
        var line = LineBuffer(capacity: 64)
        JSONValueWriter.appendValue(RedactionProcessor.placeholder, to: &line)
        return line.withUnsafeBytes { Array($0) }
    }()

    init(
        redaction: RedactionProcessor, truncation: TruncationProcessor, output: LogOutput, extraMetadataProvider: Logger.MetadataProvider?,
        traceIDs: (@Sendable (ServiceContext) -> LogTraceIDs?)? = nil
    ) {
        self.redaction = redaction
        self.truncation = truncation
        self.output = output
        self.extraMetadataProvider = extraMetadataProvider
        self.traceIDs = traceIDs
        self.writesTraceIDsAsTheyAre = !redaction.isSecret("trace_id") && !redaction.isSecret("span_id") && truncation.maxBytes >= 32
        self.id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// What the built-in processors (in their order) replace a value with, or `nil` when they
    /// leave it as it is (the common case, which then costs no copy).
    @inline(__always)
    func replacement(key: String, value: Logger.MetadataValue) -> Logger.MetadataValue? {
        var changed: Logger.MetadataValue?
        if let formatted = ErrorFormattingProcessor.formatted(value) { changed = formatted }
        if let redacted = redaction.replacement(key: key, value: changed ?? value) { changed = redacted }
        if let cut = truncation.replacement(for: changed ?? value) { changed = cut }
        return changed
    }

    /// `,"key":value` with the value as the processors leave it.
    @inline(__always)
    func appendProcessedField(key: String, value: Logger.MetadataValue, hasLocation: Bool, to line: inout LineBuffer) {
        JSONLineRenderer.appendKey(key, hasLocation: hasLocation, to: &line)
        appendProcessedValue(key: key, value: value, to: &line)
    }

    /// The value of `key` as the processors leave it.
    @inline(__always)
    func appendProcessedValue(key: String, value: Logger.MetadataValue, to line: inout LineBuffer) {
        if let replaced = replacement(key: key, value: value) {
            JSONValueWriter.appendValue(replaced, to: &line)
        } else {
            JSONValueWriter.appendValue(value, to: &line)
        }
    }

    func write(
        event: LogEvent, timestamp: LogTimestamp, location: LogSourceLocation?, serviceContext: ServiceContext?, bound: BoundLogFields?,
        core: HandlerCore
    ) -> Bool {
        let ids = traceIDs.flatMap { read in serviceContext.flatMap(read) }
        guard let bound else {
            return writeLine(event: event, timestamp: timestamp, location: location, ids: ids, bound: nil, header: core.renderedHeader, context: nil)
        }
        // The scope holds its rendering: no retain while the line is written.
        return renderedContext(bound, pipeline: ObjectIdentifier(core.pipeline))._withUnsafeGuaranteedRef { context in
            writeLine(event: event, timestamp: timestamp, location: location, ids: ids, bound: bound, header: core.renderedHeader, context: context)
        }
    }

    private func writeLine(
        event: LogEvent, timestamp: LogTimestamp, location: LogSourceLocation?, ids: LogTraceIDs?, bound: BoundLogFields?, header: [UInt8],
        context: RenderedContext?
    ) -> Bool {
        let hasLocation = location != nil
        if hasLocation, context?.hasLocationKeys == true { return false }

        var traceID: Logger.MetadataValue?
        var spanID: Logger.MetadataValue?
        if let provider = extraMetadataProvider {
            for (key, value) in provider.get() {
                switch key {
                case "trace_id": traceID = value
                case "span_id": spanID = value
                default: return false
                }
            }
        }
        var writesIDs = false
        if let ids {
            // Ids from a provider too: the general path settles which win.
            guard traceID == nil, spanID == nil else { return false }
            if writesTraceIDsAsTheyAre {
                writesIDs = true
            } else {
                traceID = .string(ids.traceIDHex)
                spanID = .string(ids.spanIDHex)
            }
        }
        if traceID != nil || spanID != nil || writesIDs, context?.hasTraceKeys == true { return false }

        let call = event.metadata ?? [:]
        let addsError = event.error != nil && call["error"] == nil
        let count = call.count + (addsError ? 1 : 0)
        let written = RenderBuffer.withThreadState { line, keys -> Bool in
            withUnsafeTemporaryAllocation(of: PendingField.self, capacity: max(count, 1)) { buffer -> Bool in
                guard let fields = buffer.baseAddress else { return false }
                var pending = 0
                defer { fields.deinitialize(count: pending) }
                for (key, value) in call {
                    guard let slot = callFieldSlot(key, keys: keys, bound: bound) else { return false }
                    (fields + pending).initialize(to: PendingField(key: key, value: value, slot: slot))
                    pending += 1
                }
                if addsError, let error = event.error {
                    guard let slot = callFieldSlot("error", keys: keys, bound: bound) else { return false }
                    (fields + pending).initialize(to: PendingField(key: "error", value: .error(error), slot: slot))
                    pending += 1
                }
                let fieldList = UnsafeMutableBufferPointer(start: fields, count: pending)
                // A later key of this line may have taken an earlier one's slot: that one is
                // rendered without the cache.
                for index in fieldList.indices where fieldList[index].slot >= 0 && !keys.holds(fieldList[index].slot, key: fieldList[index].key, owner: self) {
                    fieldList[index].slot = -1
                }
                PendingField.sortInLineOrder(fieldList, keys: keys)

                JSONLineRenderer.appendStart(timestamp: timestamp, level: event.level, to: &line)
                line.append(header)
                let message = event.message.description
                JSONValueWriter.appendString(truncation.truncated(message) ?? message, to: &line)
                if let context { line.append(context.head) }
                if writesIDs, let ids { ids.appendJSON(to: &line) }
                if let traceID { appendProcessedField(key: "trace_id", value: traceID, hasLocation: hasLocation, to: &line) }
                if let spanID { appendProcessedField(key: "span_id", value: spanID, hasLocation: hasLocation, to: &line) }
                if let context { line.append(context.tail) }
                for index in fieldList.indices {
                    appendCallField(fieldList.baseAddress.unsafelyUnwrapped + index, keys: keys, hasLocation: hasLocation, to: &line)
                }
                JSONLineRenderer.appendEnd(location: location, to: &line)
                output.write(line, level: event.level)
                return true
            }
        }
        return written ?? false
    }

    /// The key's slot in the thread's cache (-1: rendered without it), or `nil` when the field
    /// cannot take the fast path: a well-known key, or one the scope's context already has.
    @inline(__always)
    private func callFieldSlot(_ key: String, keys: CallFieldKeys, bound: BoundLogFields?) -> Int? {
        let slot = keys.slot(for: key, owner: self)
        let isOrdinary = slot.map { keys.facts($0).pointee.isOrdinaryCallField }
            ?? (LogField.order(of: key, isCallField: true) == LogField.callFieldOrder)
        guard isOrdinary else { return nil }
        if let bound, LogField.contains(key, in: bound.orderedFields) { return nil }
        return slot ?? -1
    }

    /// `,"key":value`, the key's rendering and secrecy taken from the cache.
    @inline(__always)
    private func appendCallField(_ field: UnsafeMutablePointer<PendingField>, keys: CallFieldKeys, hasLocation: Bool, to line: inout LineBuffer) {
        let slot = field.pointee.slot
        guard slot >= 0, !(hasLocation && keys.facts(slot).pointee.isRenamedWithLocation) else {
            appendProcessedField(key: field.pointee.key, value: field.pointee.value, hasLocation: hasLocation, to: &line)
            return
        }
        line.append(keys.rendering(slot))
        if keys.facts(slot).pointee.isSecret {
            line.append(Self.redactedValue)
            return
        }
        // The two common values, which no processor changes: a string within the length limit,
        // a number or boolean.
        switch field.pointee.value {
        case .string(let text) where text.utf8.count <= truncation.maxBytes:
            JSONValueWriter.appendString(text, to: &line)
            return
        case .stringConvertible(let convertible):
            if let literal = JSONValueWriter.numberOrBoolLiteral(convertible) {
                line.append(raw: literal)
                return
            }
        default:
            break
        }
        appendProcessedValue(key: field.pointee.key, value: field.pointee.value, to: &line)
    }

    /// The scope's fields rendered for this pipeline: made once and kept with the scope (a scope
    /// logged to by another pipeline too, as in tests, renders for that one on each line). Held
    /// by the scope, so the reference needs no retain while the line is written.
    private func renderedContext(_ bound: BoundLogFields, pipeline: ObjectIdentifier) -> Unmanaged<RenderedContext> {
        if let cached = bound.renderedContext(for: pipeline) { return cached }
        return bound.keepRenderedContext(RenderedContext(fields: bound.orderedFields, fastPath: self, pipeline: pipeline))
    }
}

/// A scope's context fields as JSON, split where the trace ids go: `head` holds the well-known
/// keys before them (`request_id` … `worker_id`), `tail` the rest.
final class RenderedContext: Sendable {
    let pipeline: ObjectIdentifier
    let head: [UInt8]
    let tail: [UInt8]
    /// `file`, `line` or `source`: renamed (`_file`) only on lines that carry a location.
    let hasLocationKeys: Bool
    let hasTraceKeys: Bool

    init(fields: [LogField], fastPath: JSONFastPath, pipeline: ObjectIdentifier) {
        var head = LineBuffer(capacity: 256)
        var tail = LineBuffer(capacity: 256)
        let traceIDOrder = LogField.order(of: "trace_id", isCallField: false)
        for field in fields {
            if field.order < traceIDOrder {
                fastPath.appendProcessedField(key: field.key, value: field.value, hasLocation: false, to: &head)
            } else {
                fastPath.appendProcessedField(key: field.key, value: field.value, hasLocation: false, to: &tail)
            }
        }
        self.pipeline = pipeline
        self.head = head.withUnsafeBytes { Array($0) }
        self.tail = tail.withUnsafeBytes { Array($0) }
        self.hasLocationKeys = fields.contains { JSONLineRenderer.isReservedKey($0.key, hasLocation: true) != JSONLineRenderer.isReservedKey($0.key, hasLocation: false) }
        self.hasTraceKeys = fields.contains { $0.key == "trace_id" || $0.key == "span_id" }
    }
}

/// A call field waiting to be written: its key, value and slot in the thread's key cache (-1:
/// none).
struct PendingField {
    let key: String
    let value: Logger.MetadataValue
    var slot: Int

    /// By key, as the general path orders call fields: compared by the cached eight-byte prefix
    /// where both keys have one and they differ.
    static func sortInLineOrder(_ fields: UnsafeMutableBufferPointer<PendingField>, keys: CallFieldKeys) {
        guard fields.count > 1 else { return }
        for index in 1..<fields.count {
            var current = index
            while current > 0 && precedes(fields[current], fields[current - 1], keys: keys) {
                fields.swapAt(current, current - 1)
                current -= 1
            }
        }
    }

    @inline(__always)
    private static func precedes(_ lhs: borrowing PendingField, _ rhs: borrowing PendingField, keys: CallFieldKeys) -> Bool {
        if lhs.slot >= 0, rhs.slot >= 0, let left = keys.facts(lhs.slot).pointee.sortPrefix,
           let right = keys.facts(rhs.slot).pointee.sortPrefix, left != right {
            return left < right
        }
        return lhs.key < rhs.key
    }
}
