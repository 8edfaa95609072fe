public import Logging
public import NIOCore
public import NIOPosix

/// One TCP connection to Redis with its channel pipeline: RESP decoder, command encoder and the
/// pipelining handler. Authenticated and on the configured database before it is handed out.
public final class RedisConnection: Sendable {
    let channel: any Channel
    let logger: Logger
    let commandTimeout: Duration
    public let id: Int
    /// The channel's event loop as a task executor (see `RedisClient.withConnection`).
    let executor: EventLoopTaskExecutor

    private init(channel: any Channel, logger: Logger, commandTimeout: Duration, id: Int) {
        self.channel = channel
        self.executor = EventLoopTaskExecutor(eventLoop: channel.eventLoop)
        self.logger = logger
        self.commandTimeout = commandTimeout
        self.id = id
    }

    public var isActive: Bool { channel.isActive }

    /// Opens, authenticates (`AUTH`) and selects the database (`SELECT`).
    /// `subscriberSink` puts the connection in subscriber mode: every inbound value goes there.
    public static func connect(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        id: Int = 0,
        subscriberSink: (@Sendable (RESPValue) -> Void)? = nil
    ) async throws(RedisError) -> RedisConnection {
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout.seconds * 1e9)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPValueDecoder(parser: RESPParser())),
                        RedisCommandHandler(subscriberSink: subscriberSink),
                    ])
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw .connectionFailed(endpoint: configuration.endpoint, reason: "\(error)")
        }
        var connectionLogger = logger
        connectionLogger[metadataKey: "redis_connection"] = .stringConvertible(id)
        let connection = RedisConnection(channel: channel, logger: connectionLogger, commandTimeout: configuration.commandTimeout, id: id)
        do {
            if let password = configuration.password {
                let auth = configuration.username.map { RedisCommand("AUTH", RedisArgument($0), RedisArgument(password)) }
                    ?? RedisCommand("AUTH", RedisArgument(password))
                _ = try await connection.send(auth)
            }
            if configuration.database != 0 {
                _ = try await connection.send(RedisCommand("SELECT", RedisArgument(configuration.database)))
            }
        } catch {
            await connection.close()
            if case .server(let message) = error {
                throw .connectionFailed(endpoint: configuration.endpoint, reason: "the server refused the connection set-up: \(message)")
            }
            throw error
        }
        connectionLogger.debug("redis_connected", metadata: ["endpoint": "\(configuration.endpoint)"])
        return connection
    }

    /// Sends one command and waits for its reply.
    ///
    /// - Parameter timeout: how long to wait; `nil` uses the configured command timeout. A late
    ///   reply would be paired with the wrong command, so a timeout closes the connection.
    /// - Parameter closeOnCancel: for blocking commands: cancelling the task closes the
    ///   connection, the only way to stop a blocked Redis command.
    public func send(_ command: RedisCommand, timeout: Duration? = nil, closeOnCancel: Bool = false) async throws(RedisError) -> RESPValue {
        let results = try await submit([command], timeout: timeout ?? commandTimeout, closeOnCancel: closeOnCancel)
        guard let result = results.first else { throw .connectionClosed }
        return try result.get()
    }

    /// Sends commands back to back in one write, then collects every reply in order (one round
    /// trip). Each command succeeds or fails on its own; a dropped connection fails them all.
    public func pipeline(_ commands: [RedisCommand], timeout: Duration? = nil) async -> [Result<RESPValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        do {
            return try await submit(commands, timeout: timeout ?? commandTimeout, closeOnCancel: false)
        } catch {
            return Array(repeating: .failure(error), count: commands.count)
        }
    }

    /// Writes commands whose replies go to the subscriber sink (subscriber mode only).
    func sendToSubscriber(_ command: RedisCommand) async throws(RedisError) {
        do {
            try await channel.writeAndFlush(RedisRequest(commands: [command], promise: nil))
        } catch {
            throw .connectionClosed
        }
    }

    private func submit(_ commands: [RedisCommand], timeout: Duration, closeOnCancel: Bool) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        let promise = channel.eventLoop.makePromise(of: [Result<RESPValue, RedisError>].self)
        let channel = self.channel
        // The handler keeps the deadline: on expiry it fails this request and closes the connection.
        let request = RedisRequest(commands: commands, promise: promise, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
        // Written from the event loop, and only while the channel is active (its handlers are then
        // in place): the handler owns the promise from there, and a closed channel fails it here,
        // without a write promise and callback per command.
        let write: @Sendable () -> Void = {
            if channel.isActive {
                channel.writeAndFlush(request, promise: nil)
            } else {
                promise.fail(RedisError.connectionClosed)
            }
        }
        if channel.eventLoop.inEventLoop { write() } else { channel.eventLoop.execute(write) }
        do {
            // A cancellation handler costs a status record (a lock) per call: only blocking
            // commands, which cancelling must interrupt, install one.
            guard closeOnCancel else { return try await promise.futureResult.get() }
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch let error as RedisError {
            throw error
        } catch {
            throw .connectionClosed
        }
    }

    public func close() async {
        try? await channel.close()
    }

    /// Completes when the connection closes, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }
}
