import Logging

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
    let extraMetadataProvider: Logger.MetadataProvider?

    init(redaction: RedactionProcessor, truncation: TruncationProcessor, output: LogOutput, extraMetadataProvider: Logger.MetadataProvider?) {
        self.redaction = redaction
        self.truncation = truncation
        self.output = output
        self.extraMetadataProvider = extraMetadataProvider
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
        if let replaced = replacement(key: key, value: value) {
            JSONLineRenderer.appendField(key: key, value: replaced, hasLocation: hasLocation, to: &line)
        } else {
            JSONLineRenderer.appendField(key: key, value: value, hasLocation: hasLocation, to: &line)
        }
    }

    func write(event: LogEvent, timestamp: LogTimestamp, location: LogSourceLocation?, bound: BoundLogFields?, core: HandlerCore) -> Bool {
        guard let bound else {
            return writeLine(event: event, timestamp: timestamp, location: location, bound: nil, header: core.renderedHeader, context: nil)
        }
        // The scope holds its rendering: no retain while the line is written.
        return renderedContext(bound, pipeline: ObjectIdentifier(core.pipeline))._withUnsafeGuaranteedRef { context in
            writeLine(event: event, timestamp: timestamp, location: location, bound: bound, header: core.renderedHeader, context: context)
        }
    }

    private func writeLine(
        event: LogEvent, timestamp: LogTimestamp, location: LogSourceLocation?, bound: BoundLogFields?, header: [UInt8], context: RenderedContext?
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
            if traceID != nil || spanID != nil, context?.hasTraceKeys == true { return false }
        }

        let call = event.metadata ?? [:]
        let addsError = event.error != nil && call["error"] == nil
        let count = call.count + (addsError ? 1 : 0)
        return withUnsafeTemporaryAllocation(of: LogField.self, capacity: max(count, 1)) { buffer -> Bool in
            guard let fields = buffer.baseAddress else { return false }
            var initialized = 0
            defer { fields.deinitialize(count: initialized) }
            for (key, value) in call {
                guard LogField.order(of: key, isCallField: true) == LogField.callFieldOrder, !(bound.map { LogField.contains(key, in: $0.orderedFields) } ?? false)
                else { return false }
                (fields + initialized).initialize(to: LogField(key: key, value: value, order: LogField.callFieldOrder))
                initialized += 1
            }
            if addsError, let error = event.error {
                if let bound, LogField.contains("error", in: bound.orderedFields) { return false }
                (fields + initialized).initialize(to: LogField(key: "error", value: .error(error), order: LogField.callFieldOrder))
                initialized += 1
            }
            LogField.sortInLineOrder(UnsafeMutableBufferPointer(start: fields, count: initialized))

            RenderBuffer.withBuffer { line in
                JSONLineRenderer.appendStart(timestamp: timestamp, level: event.level, to: &line)
                line.append(header)
                let message = event.message.description
                JSONValueWriter.appendString(truncation.truncated(message) ?? message, to: &line)
                if let context { line.append(context.head) }
                if let traceID { appendProcessedField(key: "trace_id", value: traceID, hasLocation: hasLocation, to: &line) }
                if let spanID { appendProcessedField(key: "span_id", value: spanID, hasLocation: hasLocation, to: &line) }
                if let context { line.append(context.tail) }
                for index in 0..<initialized {
                    appendProcessedField(key: fields[index].key, value: fields[index].value, hasLocation: hasLocation, to: &line)
                }
                JSONLineRenderer.appendEnd(location: location, to: &line)
                output.write(line, level: event.level)
            }
            return true
        }
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
