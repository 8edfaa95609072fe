import Logging
import NIOCore
import NIOPosix

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
        try await withConnection { connection throws(RedisError) in
            try await connection.send(command, timeout: blockFor + configuration.commandTimeout, closeOnCancel: true)
        }
    }

    /// Sends several commands on one connection without waiting between them (one round trip).
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try await withConnection { connection in
            await connection.pipeline(commands)
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
    public func withConnection<Result: Sendable>(
        _ body: (RedisConnection) async throws(RedisError) -> Result
    ) async throws(RedisError) -> Result {
        let connection = try await pool.lease()
        do {
            let result = try await body(connection)
            await pool.release(connection)
            return result
        } catch {
            await pool.release(connection)
            throw error
        }
    }

    /// Closes idle connections and refuses new commands. Commands in flight finish first.
    public func shutdown() async {
        await pool.close()
    }
}
