package import DalstonPipeline
package import Logging
import ServiceLifecycle

/// Clears what writers left half-done when their process died (temporary files, multipart
/// uploads never completed, stale downloaded copies), at start and every `interval`, for
/// anything older than `age` (far past any upload's body timeout, so nothing in progress).
/// A store that is down is tried again at the next pass.
package struct ArtifactSweep: Service {
    let artifacts: any ArtifactStore
    let interval: Duration
    let age: Duration
    let logger: Logger

    package init(artifacts: any ArtifactStore, interval: Duration, age: Duration, logger: Logger) {
        self.artifacts = artifacts
        self.interval = interval
        self.age = age
        self.logger = logger
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweepOnce()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass; how many half-written artifacts were removed.
    @discardableResult
    package func sweepOnce() async -> Int {
        do {
            let removed = try await artifacts.removeAbandonedWrites(olderThan: age)
            if removed > 0 { logger.notice("abandoned_uploads_removed", metadata: ["files": .stringConvertible(removed)]) }
            return removed
        } catch {
            logger.warning("artifact_sweep_failed", metadata: ["error": "\(error)"])
            return 0
        }
    }
}
