package import DalstonBroker
package import DalstonMetrics
package import DalstonPipeline
import DalstonPropagation
import Foundation
package import Logging

/// One step of the pipeline. Implement `process`; the runner does the rest (taking tasks,
/// binding `request_id`/`job_id`/`task_id`/`engine_id` for every log line, heartbeats, lease
/// renewal, acknowledgement, failure reports, graceful shutdown).
package protocol Engine: Sendable {
    /// The queue this engine serves, e.g. `audio-prepare`.
    var engineID: String { get }
    /// Does the work; the returned object becomes the task's `output` (later tasks see it in
    /// their `input` under this task's stage name).
    func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue]
    /// Loads what the first task would otherwise wait for (a model runner), before the worker
    /// takes tasks; a failure is the engine's to log, and its tasks report it.
    func prepare(metrics: Instruments) async
    /// Releases what the engine holds beyond a task (its runner processes) once its worker has
    /// stopped taking tasks.
    func shutdown() async
}

extension Engine {
    package func prepare(metrics: Instruments) async {}
    package func shutdown() async {}
}

/// What an engine gets besides the task.
package struct EngineContext: Sendable {
    package let task: TaskEnvelope
    /// Bound with the task's correlation fields (any other logger gets them too, task-locally).
    package let logger: Logger
    package let artifacts: any ArtifactStore
    package let workerID: String
    /// 1 on first delivery; more when a previous worker died or timed out with this task.
    package let deliveryCount: Int
    /// The engine process's instruments (for an engine's own figures, such as its runner's).
    package var metrics: Instruments = .disabled
    /// How long a task waits for an artifact store it cannot reach (down, restarting, 5xx)
    /// before it fails: an outage of a minute or two costs time, not the job.
    package var storeRetryWindow: Duration = .seconds(120)

    /// The bytes of an artifact; a missing one is a permanent failure (no retry brings it back),
    /// a store that cannot be reached a retryable one.
    package func read(_ reference: ArtifactReference) async throws -> [UInt8] {
        do {
            return try await retryingUnavailable(reference) { () async throws(ArtifactError) in try await artifacts.read(reference) }
        } catch .notFound(let reference) {
            throw PermanentEngineError("artifact \(reference) does not exist")
        }
    }

    /// The artifact as a file on this machine, for a runner that reads it by path (downloaded
    /// from object storage when the store is remote); a missing or unreadable one is a permanent
    /// failure, an unreachable store a retryable one.
    package func localPath(_ reference: ArtifactReference) async throws -> String {
        do {
            return try await retryingUnavailable(reference) { () async throws(ArtifactError) in try await artifacts.localFile(reference) }.path
        } catch where error.isUnavailable {
            throw error
        } catch {
            throw PermanentEngineError("artifact \(reference) cannot be read: \(error)")
        }
    }

    /// Stores this task's artifact `name` (replacing an earlier attempt's) and returns its reference.
    package func write(_ bytes: [UInt8], name: String) async throws -> ArtifactReference {
        let reference = ArtifactReference(jobID: task.jobID, name: name)
        try await retryingUnavailable(reference) { () async throws(ArtifactError) in try await artifacts.write(bytes, to: reference) }
        return reference
    }

    /// Runs a store call again while the store cannot be reached, with a growing pause (0.5 s
    /// doubling to 10 s), for up to `storeRetryWindow`; each retry is logged.
    private func retryingUnavailable<T>(
        _ reference: ArtifactReference, _ operation: () async throws(ArtifactError) -> T
    ) async throws(ArtifactError) -> T {
        let deadline = ContinuousClock.now + storeRetryWindow
        var pause: Duration = .milliseconds(500)
        while true {
            do {
                return try await operation()
            } catch where error.isUnavailable && ContinuousClock.now + pause < deadline && !Task.isCancelled {
                logger.warning("artifact_store_retry", metadata: [
                    "artifact": "\(reference)", "error": "\(error)", "retry_in_seconds": .stringConvertible(pause.seconds),
                ])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(10))
            }
        }
    }

    /// Runs one step of the engine's work in a child span `engine.<engine_id>.<name>` of the
    /// task's span (decode, recognise, merge...), so a trace shows where the time went; a thrown
    /// error marks the step ERROR.
    package func step<T>(
        _ name: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async rethrows -> T {
        try await withTracedSpan("engine.\(task.engineID).\(name)", isolation: isolation) { span in
            span.attributes["dalston.task_id"] = task.taskID
            return try await body()
        }
    }
}

/// A failure that retrying cannot fix (corrupt input, unsupported format): the job fails at once.
package struct PermanentEngineError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

extension [String: JSONValue] {
    /// A required string input, or a permanent error naming the missing key.
    package func requiredString(_ key: String) throws -> String {
        guard let value = self[key]?.stringValue, !value.isEmpty else {
            throw PermanentEngineError("task input has no \(key)")
        }
        return value
    }

    /// A required artifact reference (`jobs/<job_id>/<name>`), or a permanent error.
    package func requiredArtifact(_ key: String) throws -> ArtifactReference {
        let text = try requiredString(key)
        guard let reference = ArtifactReference(key: text) else {
            throw PermanentEngineError("task input \(key) is not an artifact reference: \(text)")
        }
        return reference
    }

    /// The output of an earlier stage, as the orchestrator passes it on.
    package func output(ofStage stage: String) throws -> [String: JSONValue] {
        guard case .object(let output) = self[stage] else {
            throw PermanentEngineError("task input has no output of the \(stage) stage")
        }
        return output
    }
}
