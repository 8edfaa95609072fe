import Logging
import ServiceLifecycle
import Synchronization

/// Finished spans, gathered under a lock and exported in batches by one task.
///
/// Ending a span appends it to a bounded queue: no task hop, no allocation beyond the span's
/// value. The export task wakes when a batch is full or the schedule delay has passed, and on
/// graceful shutdown exports what is still queued. A full queue drops the newest spans and
/// counts them (`droppedSpans`, served as `dalston_otel_spans_dropped_total`).
final class SpanBatchProcessor: Service, Sendable {
    struct Settings: Sendable, Equatable {
        /// `OTEL_BSP_SCHEDULE_DELAY` (ms).
        var scheduleDelay: Duration = .seconds(5)
        /// `OTEL_BSP_EXPORT_TIMEOUT` (ms).
        var exportTimeout: Duration = .seconds(30)
        /// `OTEL_BSP_MAX_QUEUE_SIZE`.
        var maximumQueueSize = 2048
        /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`.
        var maximumBatchSize = 512
    }

    private struct State {
        var queue: [FinishedSpan] = []
        /// The export task, parked until a batch is full, the delay has passed or shutdown.
        var waiter: CheckedContinuation<Void, Never>?
        var wakeRequested = false
        /// The delay passed or a flush was asked for: partial batches go too.
        var flushRequested = false
        var shuttingDown = false
    }

    let settings: Settings
    private let exporter: any SpanExporter
    private let logger: Logger
    private let state = Mutex(State())
    private let dropped = Atomic<UInt64>(0)
    private let exported = Atomic<UInt64>(0)
    private let failedExports = Atomic<UInt64>(0)

    init(settings: Settings, exporter: any SpanExporter, logger: Logger) {
        var settings = settings
        settings.maximumBatchSize = max(1, min(settings.maximumBatchSize, settings.maximumQueueSize))
        self.settings = settings
        self.exporter = exporter
        self.logger = logger
    }

    /// Spans dropped because the queue was full.
    var droppedSpans: UInt64 { dropped.load(ordering: .relaxed) }
    var exportedSpans: UInt64 { exported.load(ordering: .relaxed) }

    func spanEnded(_ span: FinishedSpan) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard state.queue.count < settings.maximumQueueSize else {
                dropped.wrappingAdd(1, ordering: .relaxed)
                return nil
            }
            state.queue.append(span)
            guard state.queue.count >= settings.maximumBatchSize else { return nil }
            return Self.takeWaiter(&state)  // a full batch: export it now
        }
        waiter?.resume()
    }

    /// Wakes the export task to export everything queued (`forceFlush`, the schedule delay).
    func requestExport() {
        state.withLock { state in
            state.flushRequested = true
            return Self.takeWaiter(&state)
        }?.resume()
    }

    private static func takeWaiter(_ state: inout State) -> CheckedContinuation<Void, Never>? {
        guard let waiter = state.waiter else {
            state.wakeRequested = true
            return nil
        }
        state.waiter = nil
        return waiter
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                while !Task.isCancelled {
                    let everything = await waitForWork()
                    if state.withLock({ $0.shuttingDown }) { break }
                    await exportQueued(onlyFullBatches: !everything)
                }
            } onCancel: {
                self.beginShutdown()
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        // Whatever is still queued, within the export timeout.
        await exportQueued(onlyFullBatches: false)
        await exporter.shutdown()
        let dropped = droppedSpans
        if dropped > 0 {
            logger.warning("otel_spans_dropped", metadata: ["dropped": "\(dropped)", "max_queue_size": "\(settings.maximumQueueSize)"])
        }
    }

    private func beginShutdown() {
        state.withLock { state in
            state.shuttingDown = true
            return Self.takeWaiter(&state)
        }?.resume()
    }

    /// Returns when a batch is full, the schedule delay has passed, an export was requested or
    /// shutdown began; true unless only a full batch woke it.
    private func waitForWork() async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [settings] in
                try? await Task.sleep(for: settings.scheduleDelay)
                if !Task.isCancelled { self.requestExport() }
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.wakeRequested || state.shuttingDown || state.queue.count >= settings.maximumBatchSize {
                        state.wakeRequested = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
        return state.withLock { state in
            state.wakeRequested = false
            defer { state.flushRequested = false }
            return state.flushRequested || state.shuttingDown
        }
    }

    /// Exports what is queued in batches, within the export timeout: full batches only, or
    /// everything.
    private func exportQueued(onlyFullBatches: Bool) async {
        let deadline = ContinuousClock.now + settings.exportTimeout
        while ContinuousClock.now < deadline {
            let batch: [FinishedSpan] = state.withLock { state in
                let count = min(state.queue.count, settings.maximumBatchSize)
                guard count > 0, !onlyFullBatches || count == settings.maximumBatchSize else { return [] }
                let batch = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }
            do {
                try await exporter.export(batch, timeout: deadline - .now)
                exported.wrappingAdd(UInt64(batch.count), ordering: .relaxed)
            } catch {
                let failures = failedExports.wrappingAdd(1, ordering: .relaxed).newValue
                // The first failure and every tenth: an absent collector must not flood the log.
                if failures == 1 || failures % 10 == 0 {
                    logger.warning("otel_export_failed", metadata: [
                        "error": "\(error)", "spans": "\(batch.count)", "failed_exports": "\(failures)",
                    ])
                }
            }
        }
    }
}
