public import Logging
public import NIOCore
public import NIOPosix

/// Dalston's Redis client: pooled, pipelining command connections plus dedicated subscriber
/// connections.
///
/// Commands in flight when a connection drops fail at once with `RedisError.connectionClosed`;
/// the next command reconnects (with backoff). Logs go to `dalston.redis` at debug level and never
/// contain credentials or command arguments.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let pool: RedisConnectionPool

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "dalston.redis")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.pool = RedisConnectionPool(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Sends one command; a server error reply throws `RedisError.server`.
    @discardableResult
    public func send(_ command: RedisCommand, timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        try await withConnection { connection throws(RedisError) in
            try await connection.send(command, timeout: timeout)
        }
    }

    /// Sends a blocking command (`BLMOVE`, `XREADGROUP ... BLOCK`) that may wait up to `blockFor`.
    /// Cancelling the calling task stops the wait by closing that connection.
    public func sendBlocking(_ command: RedisCommand, blockFor: Duration) async throws(RedisError) -> RESPValue {
        // No retry: a blocking command that was waiting when its connection died failed in
        // flight, and its caller decides what to do (the broker's receive loop tries again).
        try await withConnection(retryingStaleConnection: false) { connection throws(RedisError) in
            try await connection.send(command, timeout: blockFor + configuration.commandTimeout, closeOnCancel: true)
        }
    }

    /// Sends several commands on one connection without waiting between them (one round trip).
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try await withConnection { connection throws(RedisError) in
            let results = await connection.pipeline(commands)
            // A dead connection fails every command alike: surface it so the batch is retried.
            if case .failure(.connectionClosed) = results.first, results.allSatisfy({ if case .failure(.connectionClosed) = $0 { true } else { false } }) {
                throw .connectionClosed
            }
            return results
        }
    }

    /// Runs `commands` atomically with `MULTI`/`EXEC` and returns their replies.
    public func transaction(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        let results = try await pipeline([RedisCommand("MULTI")] + commands + [RedisCommand("EXEC")])
        for case .failure(let error) in results { throw error }
        guard case .success(let exec) = results.last else { throw .connectionClosed }
        guard let replies = exec.elements else {
            throw .unexpectedReply(command: "EXEC", reply: "\(exec)")
        }
        for case .error(let message) in replies { throw .server(message) }
        return replies
    }

    /// A subscription on its own connection, resubscribing after reconnects.
    public func subscribe(channels: [String] = [], patterns: [String] = []) -> RedisSubscription {
        RedisSubscription(client: self, channels: channels, patterns: patterns)
    }

    /// Leases a connection for `body` and returns it to the pool afterwards, whatever happens.
    ///
    /// If a connection reused from the pool turns out to be dead (`connectionClosed` before any
    /// reply) and `retryingStaleConnection` is set, `body` runs once more on a new connection. A
    /// command that reached the server just before the connection dropped can therefore run
    /// twice: Dalston's queues are at-least-once and its consumers tolerate that.
    ///
    /// `body` runs on the connection's event loop (a task executor preference, unless
    /// `runsCommandsOnEventLoop` is off): its commands are written and their replies resumed
    /// there, without crossing threads for each round trip. Keep it to Redis work; anything slow
    /// belongs after `withConnection` returns.
    public func withConnection<Result: Sendable>(
        retryingStaleConnection: Bool = true,
        _ body: (RedisConnection) async throws(RedisError) -> Result
    ) async throws(RedisError) -> Result {
        let (connection, reused) = try await pool.lease()
        do {
            let result = try await run(body, on: connection)
            await pool.release(connection)
            return result
        } catch .connectionClosed where retryingStaleConnection && reused && !Task.isCancelled {
            await pool.release(connection)
            await pool.discardIdle()
            logger.debug("redis_stale_connection_retried", metadata: ["redis_connection": .stringConvertible(connection.id)])
            let (fresh, _) = try await pool.lease()
            do {
                let result = try await run(body, on: fresh)
                await pool.release(fresh)
                return result
            } catch {
                await pool.release(fresh)
                throw error
            }
        } catch {
            await pool.release(connection)
            throw error
        }
    }

    /// `body` on the connection's event loop, unless `runsCommandsOnEventLoop` is off.
    private func run<Result: Sendable>(
        _ body: (RedisConnection) async throws(RedisError) -> Result, on connection: RedisConnection
    ) async throws(RedisError) -> Result {
        try await withTaskExecutorPreference(configuration.runsCommandsOnEventLoop ? connection.executor : nil) { () async throws(RedisError) -> Result in
            try await body(connection)
        }
    }

    /// Closes idle connections and refuses new commands. Commands in flight finish first.
    public func shutdown() async {
        await pool.close()
    }
}
