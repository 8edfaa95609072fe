package import DalstonBroker
import DalstonCore
import DalstonLogging
package import DalstonMetrics
package import DalstonPipeline
import DalstonPropagation
import Foundation
package import Logging
import ServiceLifecycle
import Tracing

package struct EngineRunnerOptions: Sendable {
    /// How long one `receive` waits before looping (and noticing shutdown).
    package var pollInterval: Duration = .seconds(2)
    package var heartbeatInterval: Duration = .seconds(5)
    /// On shutdown, how long the task in hand may still run before it is requeued.
    package var shutdownGracePeriod: Duration = .seconds(20)
    /// How often the lease of a running task is renewed: well under the visibility timeout (the
    /// runtime sets a third of it, at most 10 s).
    package var leaseRenewalInterval: Duration = .seconds(10)

    package init() {}
}

/// Pulls tasks for one engine and runs them, one at a time.
///
/// It reports each outcome in the `task_completed`/`task_failed` event it publishes as it
/// acknowledges the task (one atomic step), and writes no job or task state: the orchestrator
/// owns that. It hears `job_cancelled` on the event bus, skips tasks of cancelled jobs and stops
/// the one in hand when its job is cancelled.
package final class EngineRunner: Service, Sendable {
    package let engine: any Engine
    package let workerID: String
    private let queue: any TaskQueue
    /// Where this process serves `/metrics` (`host:port`), advertised in the heartbeat.
    private let metricsEndpoint: @Sendable () -> String?
    private let jobs: JobStore
    private let events: any EventBus
    private let workers: any WorkerRegistry
    private let artifacts: any ArtifactStore
    private let cancelledJobs = CancelledJobs()
    private let options: EngineRunnerOptions
    private let logger: Logger
    private let metrics: Instruments

    package init(
        engine: any Engine, queue: any TaskQueue, state: any StateStore, events: any EventBus, workers: any WorkerRegistry, artifacts: any ArtifactStore,
        workerID: String? = nil,
        options: EngineRunnerOptions = EngineRunnerOptions(), metrics: Instruments = .disabled,
        metricsEndpoint: @escaping @Sendable () -> String? = { nil }, logger: Logger? = nil
    ) {
        self.metrics = metrics
        self.metricsEndpoint = metricsEndpoint
        let engineLabel = [("engine_id", engine.engineID)]
        metrics.startAtZero(DalstonMetric.tasksProcessed, ["completed", "failed", "requeued"].map { engineLabel + [("status", $0)] })
        metrics.startAtZero(DalstonMetric.redeliveries, [engineLabel])
        _ = metrics.floatingCounter(DalstonMetric.busySeconds, engineLabel)
        self.engine = engine
        self.queue = queue
        self.jobs = JobStore(state: state)
        self.events = events
        self.workers = workers
        self.artifacts = artifacts
        self.workerID = workerID ?? "\(engine.engineID)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8).lowercased())"
        self.options = options
        self.logger = logger ?? Logger(label: "dalston.engine.\(engine.engineID)")
    }

    /// Runs until the calling task is cancelled or the service group shuts down gracefully. A
    /// task in hand at that moment is finished (within `shutdownGracePeriod`) or put back on the
    /// queue. Heartbeats and the cancellation listener are child tasks of this one.
    package func run() async {
        await cancelWhenGracefulShutdown {
            await withLogContext(["engine_id": "\(self.engine.engineID)", "worker_id": "\(self.workerID)"]) {
                self.logger.info("engine_started")
                let cancellations = self.events.events()
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.heartbeatLoop() }
                    group.addTask { await self.listenForCancellations(cancellations) }
                    await self.engine.prepare(metrics: self.metrics)
                    await self.receiveLoop()
                    cancellations.cancel()
                    group.cancelAll()
                }
                await self.engine.shutdown()
                self.logger.info("engine_stopped")
            }
        }
    }

    /// Takes tasks one at a time until cancelled; a broker that fails is retried with back-off.
    private func receiveLoop() async {
        var failures = 0
        while !Task.isCancelled {
            let received: ReceivedTask?
            do {
                received = try await queue.receive(engine: engine.engineID, consumer: workerID, waitUpTo: options.pollInterval)
                failures = 0
            } catch {
                if Task.isCancelled { break }
                failures += 1
                logger.warning("broker_receive_failed", metadata: ["error": .error(error), "consecutive_failures": .stringConvertible(failures)])
                try? await Task.sleep(for: .milliseconds(min(5000, 100 * (1 << min(failures, 6)))))
                continue
            }
            guard let received else { continue }
            await handle(received)
        }
    }

    private func handle(_ received: ReceivedTask) async {
        let task = received.envelope
        var metadata = task.metadata
        metadata[MessageMetadataKey.jobID] = task.jobID
        metadata[MessageMetadataKey.taskID] = task.taskID
        // Continue the orchestrator's trace (its schedule_task span); a missing or broken
        // traceparent starts a new trace, and the task runs all the same.
        await IncomingMessageContext.with(metadata, logger: logger) {
            recordQueueWait(received)
            if cancelledJobs.contains(task.jobID) {
                logger.info("task_skipped_job_cancelled")
                await settle { try await self.queue.acknowledge(received) }
                return
            }
            await withSpan("engine.\(engine.engineID).process", ofKind: .consumer) { span in
                span.attributes["dalston.task_id"] = task.taskID
                span.attributes["dalston.job_id"] = task.jobID
                span.attributes["dalston.engine_id"] = engine.engineID
                span.attributes["dalston.stage"] = task.stage
                span.attributes["dalston.request_id"] = task.metadata[MessageMetadataKey.requestID]
                span.attributes["dalston.task.attempt"] = task.attempt
                span.attributes["dalston.worker_id"] = workerID
                span.attributes["messaging.operation.type"] = "process"
                span.attributes["messaging.destination.name"] = engine.engineID
                span.attributes["messaging.message.delivery_count"] = received.deliveryCount
                await execute(received, span: span)
            }
        }
    }

    /// The time the task waited in its queue, as a span from its enqueue (in the orchestrator's
    /// process) to now, beside the processing span.
    private func recordQueueWait(_ received: ReceivedTask) {
        guard MessageTracing.isEnabled, let enqueuedAt = received.envelope.enqueuedAt else { return }
        let span = startSpan("engine.\(engine.engineID).queue_wait", ofKind: .consumer, at: WallClockInstant(enqueuedAt))
        span.attributes["dalston.task_id"] = received.envelope.taskID
        span.attributes["dalston.job_id"] = received.envelope.jobID
        span.attributes["dalston.engine_id"] = engine.engineID
        span.attributes["messaging.operation.type"] = "receive"
        span.attributes["messaging.destination.name"] = engine.engineID
        span.attributes["messaging.message.delivery_count"] = received.deliveryCount
        span.end(at: WallClockInstant(max(enqueuedAt, received.receivedAt)))
    }

    private func execute(_ received: ReceivedTask, span: any Span) async {
        let task = received.envelope
        let started = Date()
        let engineLabel = [("engine_id", engine.engineID)]
        if let wait = received.queueWait { metrics.record(DalstonMetric.queueWait, engineLabel, seconds: wait) }
        if received.deliveryCount > 1 { metrics.increment(DalstonMetric.redeliveries, engineLabel) }
        logger.info("task_started", metadata: [
            "stage": "\(task.stage)", "attempt": .stringConvertible(task.attempt), "delivery": .stringConvertible(received.deliveryCount),
            "queue_wait_seconds": .stringConvertible(received.queueWait ?? 0),
        ])
        let context = EngineContext(
            task: task, logger: logger, artifacts: artifacts, workerID: workerID, deliveryCount: received.deliveryCount, metrics: metrics)
        let engine = self.engine
        let grace = options.shutdownGracePeriod
        let shutdown = OnceSignal()
        // The one unstructured task: it keeps the task-local log context but not the runner's
        // cancellation (Swift has no cancellation shield), so a shutdown lets the work finish
        // within the grace period. Inside it, everything is structured: the engine's work, the
        // lease renewal and the grace timer are child tasks that end with the work.
        let work = Task { () throws -> [String: JSONValue] in
            try await withThrowingTaskGroup(of: [String: JSONValue]?.self) { group in
                group.addTask { try await engine.process(task, context: context) }
                group.addTask {
                    await self.renewLease(received)
                    return nil
                }
                group.addTask {
                    guard await shutdown.wait() else { return nil }
                    try await Task.sleep(for: grace)
                    throw CancellationError()  // the grace period is over: stop the work, requeue the task
                }
                while let finished = try await group.next() {
                    guard let output = finished else { continue }
                    group.cancelAll()
                    return output
                }
                throw CancellationError()
            }
        }
        cancelledJobs.watch(task.jobID, work: work)
        defer { cancelledJobs.unwatch(task.jobID) }
        let result = await withTaskCancellationHandler {
            await work.result
        } onCancel: {
            shutdown.fire()
        }
        let duration = Date().timeIntervalSince(started)
        metrics.record(DalstonMetric.taskDuration, engineLabel, seconds: duration)
        metrics.increment(DalstonMetric.busySeconds, engineLabel, byFractional: max(0, duration))
        func count(_ outcome: String) {
            metrics.increment(DalstonMetric.tasksProcessed, engineLabel + [("status", outcome)])
        }

        let cancelledJob = cancelledJobs.contains(task.jobID)
        switch result {
        case .success(let output):
            span.attributes["dalston.task.outcome"] = "completed"
            await settle(received, announcing: outcomeEvent(.succeeded(output: output), task, duration: duration))
            count("completed")
            logger.info("task_completed", metadata: ["stage": "\(task.stage)", "duration_seconds": .stringConvertible(duration)])
        case .failure where cancelledJob:
            span.attributes["dalston.task.outcome"] = "cancelled"
            logger.info("task_stopped_job_cancelled", metadata: ["stage": "\(task.stage)"])
            await settle { try await self.queue.acknowledge(received) }
        case .failure(let error) where error is CancellationError || Task.isCancelled:
            span.attributes["dalston.task.outcome"] = "requeued"
            logger.warning("task_requeued_on_shutdown", metadata: ["stage": "\(task.stage)"])
            await settle { try await self.queue.requeue(received) }
            count("requeued")
        case .failure(let error):
            let permanent = error is PermanentEngineError
            let message = "\(error)"
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: message))
            span.attributes["dalston.task.outcome"] = "failed"
            span.attributes["dalston.task.retryable"] = !permanent
            let failure = TaskFailure(message: message, retryable: !permanent, errorType: String(reflecting: type(of: error)))
            await settle(received, announcing: outcomeEvent(.failed(failure), task, duration: duration))
            count("failed")
            logger.error("task_failed", error: error, metadata: ["stage": "\(task.stage)", "retryable": .stringConvertible(!permanent)])
        }
    }

    private func renewLease(_ received: ReceivedTask) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: options.leaseRenewalInterval)
            if Task.isCancelled { return }
            do {
                try await queue.renewLease(received)
            } catch {
                logger.warning("lease_renewal_failed", metadata: ["error": .error(error)])
            }
        }
    }

    private func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await workers.heartbeat(WorkerHeartbeat(workerID: workerID, engineID: engine.engineID, status: "running", metricsEndpoint: metricsEndpoint()))
            try? await Task.sleep(for: options.heartbeatInterval)
        }
    }

    /// Notes every `job_cancelled` (and stops the task in hand when it is that job's).
    private func listenForCancellations(_ stream: EventStream) async {
        for await event in stream where event.type == PipelineEvent.jobCancelled {
            guard let jobID = event.jobID else { continue }
            cancelledJobs.insert(jobID)
        }
    }

    /// The outcome event: a `TaskReport` with what the orchestrator needs to apply it without
    /// reading (the stage, the attempt, this worker, the output or error).
    private func outcomeEvent(_ outcome: TaskOutcome, _ task: TaskEnvelope, duration: Double) -> EventEnvelope {
        var metadata = task.metadata
        // The orchestrator continues from this engine's span, not from the one that scheduled it.
        metadata[MessageMetadataKey.traceparent] = nil
        metadata[MessageMetadataKey.tracestate] = nil
        MessageTracing.inject(into: &metadata)
        metadata[MessageMetadataKey.jobID] = task.jobID
        metadata[MessageMetadataKey.taskID] = task.taskID
        let report = TaskReport(stage: task.stage, attempt: task.attempt, outcome: outcome, workerID: workerID, durationSeconds: duration)
        return report.event(jobID: task.jobID, taskID: task.taskID, metadata: metadata)
    }

    /// Acknowledges, announces and deposits the outcome in one step. If that fails (the broker is
    /// down) the task stays on its queue and is delivered again: the outcome is never lost, at
    /// worst the work is done twice. If the delivery is no longer ours (its lease ran out and it
    /// went to another worker), that worker's outcome counts.
    /// A broker that is briefly away (a Redis restart) is waited for, a few seconds at most, so
    /// finished work is not redone for a blip.
    private func settle(_ received: ReceivedTask, announcing event: EventEnvelope) async {
        for attempt in 1...Self.settleAttempts {
            do {
                if try await !jobs.settle(received, reporting: event) {
                    logger.warning("delivery_not_settled", metadata: [
                        "reason": "the delivery was no longer ours (redelivered after its visibility timeout)", "event_type": "\(event.type)",
                    ])
                }
                return
            } catch {
                guard attempt < Self.settleAttempts, !Task.isCancelled else {
                    logger.warning("delivery_not_settled", metadata: ["error": .error(error), "event_type": "\(event.type)", "attempts": .stringConvertible(attempt)])
                    return
                }
                try? await Task.sleep(for: .milliseconds(100 << attempt))
            }
        }
    }

    /// Attempts to settle an outcome: 200 ms to 3.2 s apart, about 6 s in all.
    static let settleAttempts = 5

    private func settle(_ action: () async throws -> Void) async {
        do {
            try await action()
        } catch {
            logger.warning("delivery_not_settled", metadata: ["error": .error(error)])
        }
    }
}
