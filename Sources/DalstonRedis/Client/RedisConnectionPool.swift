import DalstonLogging
import Logging
import NIOCore
import NIOPosix

/// A bounded set of command connections, opened on demand and reused.
///
/// When Redis is unreachable, connection attempts back off exponentially (shared by all callers,
/// so a burst of commands does not become a burst of connects). While backing off, or while
/// another caller is trying to reconnect, callers fail at once with the last error instead of
/// waiting: an HTTP request gets its 503 in milliseconds, and loops that retry (engines, the
/// orchestrator) pace themselves.
actor RedisConnectionPool {
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private var idle: [RedisConnection] = []
    private var openCount = 0
    private var nextConnectionID = 1
    /// Callers waiting for a connection, served first come, first served.
    private var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var nextWaiterID = 0
    private var consecutiveFailures = 0
    private var nextAttemptAt: ContinuousClock.Instant = .now
    private var lastFailure: RedisError?
    /// A reconnection attempt is in flight after failures: others do not pile up behind it.
    private var isProbing = false
    private var isClosed = false

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// A connection for the caller's exclusive use until `release`, and whether it was reused
    /// from the idle set (it may have died unnoticed) rather than just opened.
    func lease() async throws(RedisError) -> (connection: RedisConnection, reused: Bool) {
        // A busy pool is not a failure: wait as long as a command may take.
        let waitDeadline = ContinuousClock.now + max(configuration.commandTimeout, configuration.connectTimeout)
        while true {
            guard !isClosed else { throw .clientClosed }
            while let connection = idle.popLast() {
                if connection.isActive { return (connection, true) }
                openCount -= 1
            }
            if openCount < configuration.maximumConnections {
                return (try await openConnection(), false)
            }
            try await waitForRelease(until: waitDeadline)
        }
    }

    /// Closes every idle connection: after one turned out dead, the others probably are too (a
    /// server restart or `CLIENT KILL` drops them all), and the event loop may not have noticed.
    func discardIdle() async {
        let connections = idle
        idle.removeAll()
        openCount -= connections.count
        for connection in connections { await connection.close() }
    }

    /// Returns a connection; a closed one frees its slot.
    func release(_ connection: RedisConnection) {
        if connection.isActive && !isClosed {
            idle.append(connection)
        } else {
            openCount -= 1
            if isClosed { Task { await connection.close() } }
        }
        if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume()
        }
    }

    func close() async {
        isClosed = true
        let connections = idle
        idle.removeAll()
        openCount -= connections.count
        for connection in connections { await connection.close() }
        for waiter in waiters { waiter.continuation.resume() }
        waiters.removeAll()
    }

    /// Opens a connection. When Redis was reachable until now, a failure is retried with back-off
    /// until `connectTimeout` has passed (a restart or a blip is ridden out). Once Redis is known
    /// to be unreachable, callers fail at once while another caller probes or the back-off runs,
    /// and a probe is a single attempt.
    private func openConnection() async throws(RedisError) -> RedisConnection {
        if let lastFailure, isProbing || ContinuousClock.now < nextAttemptAt {
            throw lastFailure  // Redis was unreachable a moment ago: say so now
        }
        let outage = consecutiveFailures > 0
        let deadline = ContinuousClock.now + configuration.connectTimeout
        openCount += 1
        isProbing = true
        defer { isProbing = false }
        while true {
            let id = nextConnectionID
            nextConnectionID += 1
            do {
                let connection = try await RedisConnection.connect(
                    configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger, id: id)
                if consecutiveFailures > 0 {
                    logger.info("redis_reconnected", metadata: ["endpoint": "\(configuration.endpoint)", "failed_attempts": .stringConvertible(consecutiveFailures)])
                }
                consecutiveFailures = 0
                lastFailure = nil
                return connection
            } catch {
                let delay = configuration.reconnectBackoff.delay(attempt: consecutiveFailures)
                consecutiveFailures += 1
                lastFailure = error
                nextAttemptAt = .now + delay
                logger.debug("redis_connect_failed", metadata: [
                    "endpoint": "\(configuration.endpoint)", "error": .error(error),
                    "retry_in_seconds": .stringConvertible(delay.seconds),
                ])
                guard !outage, ContinuousClock.now + delay < deadline, !Task.isCancelled else {
                    openCount -= 1
                    throw error
                }
                try? await Task.sleep(until: nextAttemptAt, clock: .continuous)
            }
        }
    }

    private func waitForRelease(until deadline: ContinuousClock.Instant) async throws(RedisError) {
        let id = nextWaiterID
        nextWaiterID += 1
        let timeout = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            await self?.expireWaiter(id)
        }
        let started = ContinuousClock.now
        await withCheckedContinuation { waiters.append((id, $0)) }
        timeout.cancel()
        if ContinuousClock.now >= deadline {
            throw .noConnectionAvailable(limit: configuration.maximumConnections, seconds: (ContinuousClock.now - started).seconds)
        }
    }

    private func expireWaiter(_ id: Int) {
        if let index = waiters.firstIndex(where: { $0.id == id }) {
            waiters.remove(at: index).continuation.resume()
        }
    }
}
