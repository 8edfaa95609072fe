/// What Prometheus needs to know about a metric beyond its name: its type, help text and, for
/// histograms, buckets. swift-metrics carries none of this, so Dalston keeps it here, in one
/// place that the exposition, the docs test and the dashboards all agree on.
///
/// A definition is meant to be a constant (`DalstonMetric`'s are): it lives for the rest of the
/// process. It is one word with nothing to reference-count, because instruments are looked up by
/// their definition on every request and task; passing a class reference cost a retain and a
/// release per lookup, and a struct of four arrays and strings eight.
package struct MetricDefinition: Sendable, Hashable {
    package enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// Made once per definition and never freed, so that copies need no reference counting.
    private final class Storage: Sendable {
        let name: String
        let kind: Kind
        let help: String
        let labels: [String]
        let buckets: [Double]

        init(name: String, kind: Kind, help: String, labels: [String], buckets: [Double]) {
            self.name = name
            self.kind = kind
            self.help = help
            self.labels = labels
            self.buckets = buckets
        }
    }

    private let storage: Unmanaged<Storage>

    package init(_ name: String, _ kind: Kind, labels: [String] = [], help: String, buckets: [Double] = []) {
        storage = Unmanaged.passRetained(Storage(name: name, kind: kind, help: help, labels: labels, buckets: buckets))
    }

    package var name: String { storage._withUnsafeGuaranteedRef { $0.name } }
    package var kind: Kind { storage._withUnsafeGuaranteedRef { $0.kind } }
    package var help: String { storage._withUnsafeGuaranteedRef { $0.help } }
    /// Label names, in the order the instruments pass them (`service` is added by the factory).
    package var labels: [String] { storage._withUnsafeGuaranteedRef { $0.labels } }
    /// Upper bounds in base units (seconds); histograms only.
    package var buckets: [Double] { storage._withUnsafeGuaranteedRef { $0.buckets } }

    package static func == (lhs: MetricDefinition, rhs: MetricDefinition) -> Bool {
        lhs.storage.toOpaque() == rhs.storage.toOpaque()
            || (lhs.name == rhs.name && lhs.kind == rhs.kind && lhs.labels == rhs.labels && lhs.help == rhs.help && lhs.buckets == rhs.buckets)
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(name)
    }
}

/// Buckets for the different time scales of an audio system.
package enum MetricBuckets {
    /// HTTP requests: milliseconds to a minute (uploads of long audio are slow).
    package static let request: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// One engine step on one file: tens of milliseconds to ten minutes.
    package static let task: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
    /// Whole jobs: a second to an hour (the alert's SLO bound, 300 s, is a bucket edge).
    package static let job: [Double] = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]
    /// Waiting in a queue or for the orchestrator: milliseconds to half an hour.
    package static let wait: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800]
}

/// Every metric Dalston emits (see docs/metrics.md, kept in step by a test).
package enum DalstonMetric {
    // MARK: Gateway
    package static let gatewayRequests = MetricDefinition(
        "dalston_gateway_requests_total", .counter, labels: ["method", "endpoint", "status_code"],
        help: "HTTP requests answered by the gateway, by route template and status.")
    package static let gatewayRequestDuration = MetricDefinition(
        "dalston_gateway_request_duration_seconds", .histogram, labels: ["method", "endpoint"],
        help: "Time to answer an HTTP request, failed requests included.", buckets: MetricBuckets.request)
    package static let gatewayUploadBytes = MetricDefinition(
        "dalston_gateway_upload_bytes_total", .counter, help: "Audio bytes accepted in uploads.")
    package static let gatewayUploadsInProgress = MetricDefinition(
        "dalston_gateway_uploads_in_progress", .gauge, help: "Uploads being received now (bounded by DALSTON_MAX_CONCURRENT_UPLOADS).")
    package static let gatewayUploadsRejected = MetricDefinition(
        "dalston_gateway_uploads_rejected_total", .counter, labels: ["reason"],
        help: "Uploads refused: concurrency_limit, too_large, audio_too_long, unsupported_audio, invalid_request.")
    package static let gatewayJobsCreated = MetricDefinition(
        "dalston_gateway_jobs_created_total", .counter, labels: ["api"], help: "Jobs submitted through the gateway, by API (native, elevenlabs).")
    package static let gatewayAuthFailures = MetricDefinition(
        "dalston_gateway_auth_failures_total", .counter, labels: ["reason"], help: "Requests refused for a missing or invalid API key.")
    package static let gatewayRateLimited = MetricDefinition(
        "dalston_gateway_rate_limited_total", .counter, labels: ["reason"],
        help: "Requests refused with 429 by a per-key limit (requests, concurrent_jobs), and requests let through because the counter was unavailable (counter_unavailable).")

    // MARK: Orchestrator and jobs
    package static let jobsFinished = MetricDefinition(
        "dalston_orchestrator_jobs_total", .counter, labels: ["status"], help: "Jobs that reached a final state (completed, failed, cancelled).")
    package static let jobDuration = MetricDefinition(
        "dalston_orchestrator_job_duration_seconds", .histogram, labels: ["status"],
        help: "Job duration end to end, from creation to its final state.", buckets: MetricBuckets.job)
    package static let tasksScheduled = MetricDefinition(
        "dalston_orchestrator_tasks_scheduled_total", .counter, labels: ["engine_id", "stage"], help: "Tasks put on an engine queue, retries included.")
    package static let tasksCompleted = MetricDefinition(
        "dalston_orchestrator_tasks_completed_total", .counter, labels: ["engine_id", "status"], help: "Task outcomes received by the orchestrator.")
    package static let taskRetries = MetricDefinition(
        "dalston_orchestrator_task_retries_total", .counter, labels: ["engine_id"], help: "Failed tasks scheduled for another attempt.")
    package static let schedulingLatency = MetricDefinition(
        "dalston_orchestrator_scheduling_latency_seconds", .histogram,
        help: "From the event that made a task ready to the task's enqueue.", buckets: MetricBuckets.wait)
    package static let eventsProcessed = MetricDefinition(
        "dalston_orchestrator_events_processed_total", .counter, labels: ["event_type"], help: "Pub/sub events handled by the orchestrator.")
    package static let eventLag = MetricDefinition(
        "dalston_orchestrator_event_lag_seconds", .histogram, labels: ["event_type"],
        help: "From an event's emission to the orchestrator handling it.", buckets: MetricBuckets.wait)
    package static let jobsInProgress = MetricDefinition(
        "dalston_jobs_in_progress", .gauge, help: "Jobs not yet in a final state (sampled from the broker).")

    // MARK: Engines
    package static let tasksProcessed = MetricDefinition(
        "dalston_engine_tasks_processed_total", .counter, labels: ["engine_id", "status"],
        help: "Tasks settled by engine workers, by outcome (completed, failed, requeued).")
    package static let taskDuration = MetricDefinition(
        "dalston_engine_task_duration_seconds", .histogram, labels: ["engine_id"],
        help: "Time an engine spent processing a task, queue wait excluded.", buckets: MetricBuckets.task)
    package static let queueWait = MetricDefinition(
        "dalston_engine_queue_wait_seconds", .histogram, labels: ["engine_id"],
        help: "Time a task waited in its queue before a worker received it.", buckets: MetricBuckets.wait)
    package static let busySeconds = MetricDefinition(
        "dalston_engine_busy_seconds_total", .counter, labels: ["engine_id"],
        help: "Seconds engine workers spent processing tasks; its rate over workers alive is utilisation.")
    package static let workersAlive = MetricDefinition(
        "dalston_engine_workers_alive", .gauge, labels: ["engine_id"], help: "Engine workers with a recent heartbeat (sampled).")

    // MARK: Model runners (processes an engine supervises)

    package static let runnerStarts = MetricDefinition(
        "dalston_runner_starts_total", .counter, labels: ["runner", "model", "outcome"],
        help: "Model runner processes started by engines, by outcome (ready, failed).")
    package static let runnerExits = MetricDefinition(
        "dalston_runner_exits_total", .counter, labels: ["runner", "reason"],
        help: "Model runner processes that ended while in use: crashed (died during a task), cancelled (killed to stop a cancelled task), protocol_violation (an answer outside the protocol).")
    package static let runnerLoadDuration = MetricDefinition(
        "dalston_runner_model_load_seconds", .histogram, labels: ["runner", "model"],
        help: "Time a runner took to load its model, as it reported.", buckets: MetricBuckets.task)
    package static let runnerInferenceDuration = MetricDefinition(
        "dalston_runner_inference_seconds", .histogram, labels: ["runner", "model"],
        help: "Inference time per task inside the runner, as it reported.", buckets: MetricBuckets.task)
    package static let runnerAudioSeconds = MetricDefinition(
        "dalston_runner_audio_seconds_total", .counter, labels: ["runner", "model"],
        help: "Seconds of audio runners processed; divided by inference seconds, the real-time speed.")
    package static let runnerInferenceSeconds = MetricDefinition(
        "dalston_runner_inference_seconds_total", .counter, labels: ["runner", "model"],
        help: "Seconds runners spent in inference (the sum of dalston_runner_inference_seconds, as a counter for rates).")

    // MARK: Queues and broker (sampled)
    package static let queueDepth = MetricDefinition(
        "dalston_queue_depth", .gauge, labels: ["engine_id"], help: "Tasks waiting for a worker.")
    package static let queueInFlight = MetricDefinition(
        "dalston_queue_in_flight", .gauge, labels: ["engine_id"], help: "Tasks delivered to a worker and not yet settled.")
    package static let queueOldestAge = MetricDefinition(
        "dalston_queue_oldest_task_age_seconds", .gauge, labels: ["engine_id"], help: "Age of the oldest task in the queue; 0 when empty.")
    package static let deadLetterDepth = MetricDefinition(
        "dalston_queue_dead_letter_depth", .gauge, labels: ["engine_id"], help: "Tasks in the engine's dead-letter queue.")
    package static let redeliveries = MetricDefinition(
        "dalston_queue_redeliveries_total", .counter, labels: ["engine_id"], help: "Task deliveries after the first (a worker died or timed out).")
    package static let brokerUp = MetricDefinition(
        "dalston_broker_up", .gauge, labels: ["broker"], help: "1 when the last sample reached the broker, else 0.")
    package static let sampleErrors = MetricDefinition(
        "dalston_metrics_sample_errors_total", .counter, help: "Broker samples that failed; the previous values stay.")

    // MARK: Realtime
    package static let websocketConnections = MetricDefinition(
        "dalston_gateway_websocket_connections_active", .gauge, labels: ["protocol"],
        help: "Realtime WebSocket connections open at the gateway, by protocol (native, elevenlabs, openai).")
    package static let routerWorkersRegistered = MetricDefinition(
        "dalston_session_router_workers_registered", .gauge, help: "Realtime workers known to the session router (sampled).")
    package static let routerWorkersHealthy = MetricDefinition(
        "dalston_session_router_workers_healthy", .gauge, help: "Realtime workers with a recent heartbeat (sampled).")
    package static let routerSessionsActive = MetricDefinition(
        "dalston_session_router_sessions_active", .gauge, labels: ["worker_id"], help: "Sessions reserved on each realtime worker (sampled).")
    package static let routerSessions = MetricDefinition(
        "dalston_session_router_sessions_total", .counter, labels: ["status"],
        help: "Realtime sessions finished, by status: completed, interrupted, error, timeout, no_capacity, rejected.")
    package static let routerAllocationDuration = MetricDefinition(
        "dalston_session_router_allocation_duration_seconds", .histogram, help: "Time to reserve a worker slot for a session.",
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1])
    package static let realtimeSessionDuration = MetricDefinition(
        "dalston_realtime_session_duration_seconds", .histogram, help: "Realtime sessions' wall-clock length at the worker.",
        buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600])
    package static let realtimeAudioProcessed = MetricDefinition(
        "dalston_realtime_audio_processed_seconds_total", .counter, labels: ["worker_id"], help: "Seconds of live audio a realtime worker processed.")
    package static let realtimeTranscripts = MetricDefinition(
        "dalston_realtime_transcripts_total", .counter, labels: ["type"], help: "Live transcripts sent, by type (partial, final).")
    package static let realtimeSessionsBehind = MetricDefinition(
        "dalston_realtime_sessions_behind_total", .counter, labels: ["worker_id"],
        help: "Times a live session's decoding fell further behind its audio than DALSTON_REALTIME_MAX_LAG.")
    package static let realtimeSessionsActive = MetricDefinition(
        "dalston_realtime_sessions_active", .gauge, labels: ["worker_id"], help: "Sessions a realtime worker is serving now, against its capacity.")
    package static let realtimeCapacity = MetricDefinition(
        "dalston_realtime_worker_capacity", .gauge, labels: ["worker_id"], help: "Sessions a realtime worker can serve at once (DALSTON_REALTIME_MAX_SESSIONS).")

    // MARK: Records, webhooks, retention
    package static let databaseUp = MetricDefinition(
        "dalston_database_up", .gauge, labels: ["database"], help: "1 when the record database (sqlite or postgres) answered its last probe, else 0.")
    package static let databaseProbeDuration = MetricDefinition(
        "dalston_database_probe_duration_seconds", .gauge, labels: ["database"], help: "How long the record database took to answer its last probe.")
    package static let webhookDeliveries = MetricDefinition(
        "dalston_webhook_deliveries_total", .counter, labels: ["event", "outcome"],
        help: "Webhook delivery attempts, by event and outcome: success, retry (failed, will be retried), failed (given up).")
    package static let webhookDeliveryDuration = MetricDefinition(
        "dalston_webhook_delivery_duration_seconds", .histogram, labels: ["event"], help: "Time from sending a webhook to its receiver's answer.",
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    package static let webhooksPending = MetricDefinition(
        "dalston_webhook_deliveries_pending", .gauge, help: "Webhook deliveries waiting for their next attempt (sampled).")
    package static let retentionPurged = MetricDefinition(
        "dalston_retention_purged_total", .counter, labels: ["kind"],
        help: "What the retention purge deleted: jobs (record and files), audio (of jobs kept without it), sessions.")
    package static let artifactStoreRequests = MetricDefinition(
        "dalston_artifact_store_requests_total", .counter, labels: ["backend", "operation", "outcome"],
        help: "Artifact store calls, by backend (file, s3), operation and outcome: success, not_found, unavailable (unreachable, timed out, 5xx), error.")
    package static let artifactStoreDuration = MetricDefinition(
        "dalston_artifact_store_request_duration_seconds", .histogram, labels: ["backend", "operation"],
        help: "Time an artifact store call took (a streamed read: until the object began to arrive).", buckets: MetricBuckets.request)
    package static let artifactStoreBytes = MetricDefinition(
        "dalston_artifact_store_bytes_total", .counter, labels: ["backend", "direction"],
        help: "Bytes written to (direction=write) and read from (direction=read) the artifact store.")
    package static let artifactStoreAbandonedRemoved = MetricDefinition(
        "dalston_artifact_store_abandoned_removed_total", .counter, labels: ["backend"],
        help: "Half-written artifacts removed by the sweep: temporary files, multipart uploads never completed, stale downloaded copies.")

    // MARK: Process (Prometheus' standard names)
    // MARK: Observability itself
    package static let otelSpansDropped = MetricDefinition(
        "dalston_otel_spans_dropped_total", .counter,
        help: "Finished spans dropped because the export queue was full (a collector too slow or absent).")
    package static let logLinesDropped = MetricDefinition(
        "dalston_log_lines_dropped_total", .counter,
        help: "Log lines discarded: LOG_BUFFER_FULL=drop while stdout did not keep up, or a failing stdout.")

    package static let processCPU = MetricDefinition("process_cpu_seconds_total", .counter, help: "User and system CPU time spent, in seconds.")
    package static let processResidentMemory = MetricDefinition("process_resident_memory_bytes", .gauge, help: "Resident memory size in bytes.")
    package static let processVirtualMemory = MetricDefinition("process_virtual_memory_bytes", .gauge, help: "Virtual memory size in bytes.")
    package static let processOpenFDs = MetricDefinition("process_open_fds", .gauge, help: "Number of open file descriptors.")
    package static let processMaxFDs = MetricDefinition("process_max_fds", .gauge, help: "Maximum number of open file descriptors.")
    package static let processStartTime = MetricDefinition("process_start_time_seconds", .gauge, help: "Start time of the process since the Unix epoch, in seconds.")

    package static let all: [MetricDefinition] = [
        gatewayRequests, gatewayRequestDuration, gatewayUploadBytes, gatewayUploadsInProgress, gatewayUploadsRejected, gatewayJobsCreated, gatewayAuthFailures, gatewayRateLimited,
        jobsFinished, jobDuration, tasksScheduled, tasksCompleted, taskRetries, schedulingLatency, eventsProcessed, eventLag, jobsInProgress,
        tasksProcessed, taskDuration, queueWait, busySeconds, workersAlive,
        runnerStarts, runnerExits, runnerLoadDuration, runnerInferenceDuration, runnerAudioSeconds, runnerInferenceSeconds,
        queueDepth, queueInFlight, queueOldestAge, deadLetterDepth, redeliveries, brokerUp, sampleErrors,
        websocketConnections, routerWorkersRegistered, routerWorkersHealthy, routerSessionsActive, routerSessions, routerAllocationDuration,
        realtimeSessionDuration, realtimeAudioProcessed, realtimeTranscripts, realtimeSessionsBehind, realtimeSessionsActive, realtimeCapacity,
        databaseUp, databaseProbeDuration, webhookDeliveries, webhookDeliveryDuration, webhooksPending, retentionPurged,
        artifactStoreRequests, artifactStoreDuration, artifactStoreBytes, artifactStoreAbandonedRemoved,
        otelSpansDropped, logLinesDropped,
        processCPU, processResidentMemory, processVirtualMemory, processOpenFDs, processMaxFDs, processStartTime,
    ]

    static let byName: [String: MetricDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    package static func definition(named name: String) -> MetricDefinition? { byName[name] }
}
