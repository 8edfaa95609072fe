import DalstonLogging
import Logging
import NIOCore
import NIOPosix

/// A bounded set of command connections, opened on demand and reused.
///
/// When Redis is unreachable, connection attempts back off exponentially (shared by all callers,
/// so a burst of commands does not become a burst of connects); a caller waits at most its
/// deadline and then gets a clear error.
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
    private var isClosed = false

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// A connection for the caller's exclusive use until `release`, and whether it was reused
    /// from the idle set (it may have died unnoticed) rather than just opened.
    func lease() async throws(RedisError) -> (connection: RedisConnection, reused: Bool) {
        let connectDeadline = ContinuousClock.now + configuration.connectTimeout
        // A busy pool is not a failure: wait as long as a command may take.
        let waitDeadline = ContinuousClock.now + max(configuration.commandTimeout, configuration.connectTimeout)
        while true {
            guard !isClosed else { throw .clientClosed }
            while let connection = idle.popLast() {
                if connection.isActive { return (connection, true) }
                openCount -= 1
            }
            if openCount < configuration.maximumConnections {
                return (try await openConnection(deadline: connectDeadline), false)
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

    private func openConnection(deadline: ContinuousClock.Instant) async throws(RedisError) -> RedisConnection {
        openCount += 1
        while true {
            let now = ContinuousClock.now
            if now < nextAttemptAt {
                guard nextAttemptAt < deadline else {
                    openCount -= 1
                    throw lastFailure ?? .connectionFailed(endpoint: configuration.endpoint, reason: "backing off after failures")
                }
                try? await Task.sleep(until: nextAttemptAt, clock: .continuous)
                if Task.isCancelled {
                    openCount -= 1
                    throw .connectionClosed
                }
            }
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
                if ContinuousClock.now + delay >= deadline {
                    openCount -= 1
                    throw error
                }
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
