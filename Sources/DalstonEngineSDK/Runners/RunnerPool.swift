package import DalstonMetrics
package import Logging

/// The runner processes of one engine, one per model, started when a task first needs the model
/// and kept for the next (the model loads once per runner, not per task). At most `capacity`
/// stay loaded: starting another stops the one used least recently. A runner that died or was
/// killed is dropped and the next task starts a new one.
///
/// The engine runner hands an engine one task at a time, which is the one caller this expects.
package actor RunnerPool {
    package typealias CommandFactory = @Sendable (_ model: String) throws(RunnerError) -> RunnerCommand

    private struct Entry {
        let process: RunnerProcess
        var lastUsed: ContinuousClock.Instant
    }

    /// `faster-whisper`: the label of this pool's metrics and log lines.
    package let runnerName: String
    private let capacity: Int
    private let makeCommand: CommandFactory
    private let logger: Logger
    private var entries: [String: Entry] = [:]

    package init(runnerName: String, capacity: Int, logger: Logger, makeCommand: @escaping CommandFactory) {
        self.runnerName = runnerName
        self.capacity = max(1, capacity)
        self.logger = logger
        self.makeCommand = makeCommand
    }

    /// The live runner of `model`, started now if there is none.
    package func runner(for model: String, metrics: Instruments) async throws(RunnerError) -> RunnerProcess {
        if let entry = entries[model], entry.process.isRunning {
            entries[model]?.lastUsed = .now
            return entry.process
        }
        if let dead = entries.removeValue(forKey: model) {
            // It died between requests (killed, out of memory): said, counted, replaced.
            metrics.increment(DalstonMetric.runnerExits, [("runner", runnerName), ("reason", "crashed")])
            logger.warning("runner_discarded", metadata: ["model": "\(model)", "runner_pid": .stringConvertible(dead.process.pid), "reason": "crashed"])
        }
        while entries.count >= capacity, let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            entries[oldest.key] = nil
            logger.info("runner_unloaded", metadata: ["model": "\(oldest.key)", "runner_pid": .stringConvertible(oldest.value.process.pid)])
            await oldest.value.process.stop()
        }
        var runnerLogger = logger
        runnerLogger[metadataKey: "runner"] = "\(runnerName)"
        runnerLogger[metadataKey: "model"] = "\(model)"
        let process: RunnerProcess
        do {
            process = try await RunnerProcess.start(try makeCommand(model), logger: runnerLogger)
        } catch {
            metrics.increment(DalstonMetric.runnerStarts, [("runner", runnerName), ("model", model), ("outcome", "failed")])
            logger.error("runner_start_failed", metadata: ["model": "\(model)", "error": "\(error)"])
            throw error
        }
        metrics.increment(DalstonMetric.runnerStarts, [("runner", runnerName), ("model", model), ("outcome", "ready")])
        let loadSeconds = process.ready["load_seconds"]?.numberValue ?? 0
        metrics.record(DalstonMetric.runnerLoadDuration, [("runner", runnerName), ("model", model)], seconds: loadSeconds)
        logger.info("runner_started", metadata: [
            "model": "\(model)", "runner_pid": .stringConvertible(process.pid), "load_seconds": .stringConvertible(loadSeconds),
        ])
        entries[model] = Entry(process: process, lastUsed: .now)
        return process
    }

    /// Forgets `model`'s runner after it died or was killed (`reason`: crashed, cancelled).
    package func discard(_ model: String, process: RunnerProcess, reason: String, metrics: Instruments) {
        process.kill()
        if entries[model]?.process === process { entries[model] = nil }
        metrics.increment(DalstonMetric.runnerExits, [("runner", runnerName), ("reason", reason)])
        logger.warning("runner_discarded", metadata: ["model": "\(model)", "runner_pid": .stringConvertible(process.pid), "reason": "\(reason)"])
    }

    /// Stops every runner (the engine is shutting down).
    package func shutdown() async {
        let all = entries.values.map(\.process)
        entries.removeAll()
        for process in all { await process.stop() }
    }
}
