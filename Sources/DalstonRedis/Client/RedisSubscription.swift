import DalstonLogging
import Logging
import NIOCore
import Synchronization

/// One message received on a subscribed channel.
public struct RedisPubSubMessage: Sendable, Equatable {
    public let channel: String
    /// The pattern that matched, for `PSUBSCRIBE` subscriptions.
    public let pattern: String?
    public let payload: [UInt8]

    public init(channel: String, pattern: String?, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    public var string: String { String(decoding: payload, as: UTF8.self) }
}

/// Messages from `SUBSCRIBE`/`PSUBSCRIBE` on a dedicated connection, as an `AsyncSequence`.
///
/// If the connection drops, the subscription reconnects with backoff and subscribes again.
/// Redis pub/sub is at-most-once: messages published while disconnected are not delivered (use
/// streams for anything that must not be lost). Ending the iteration or calling `cancel()` closes
/// the connection.
public final class RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisPubSubMessage

    private let stream: AsyncStream<RedisPubSubMessage>
    private let state: SubscriptionState
    private let task: Task<Void, Never>

    /// Messages kept for a slow consumer before new ones are dropped (and counted in the log).
    public static let bufferLimit = 100_000

    init(client: RedisClient, channels: [String], patterns: [String]) {
        let (stream, continuation) = AsyncStream.makeStream(of: RedisPubSubMessage.self, bufferingPolicy: .bufferingOldest(Self.bufferLimit))
        let state = SubscriptionState(expectedConfirmations: channels.count + patterns.count, continuation: continuation, logger: client.logger)
        self.stream = stream
        self.state = state
        self.task = Task {
            await Self.maintain(client: client, channels: channels, patterns: patterns, state: state)
            continuation.finish()
        }
        let task = self.task
        continuation.onTermination = { _ in task.cancel() }
    }

    public func makeAsyncIterator() -> AsyncStream<RedisPubSubMessage>.AsyncIterator {
        stream.makeAsyncIterator()
    }

    /// Waits until Redis confirmed every channel and pattern (after the first connect or a
    /// reconnect). Returns `false` on timeout.
    public func waitUntilSubscribed(timeout: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.isSubscribed { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return state.isSubscribed
    }

    /// How many times the subscription has (re)connected and subscribed.
    public var subscribeCount: Int { state.subscribeCount }

    public func cancel() {
        task.cancel()
    }

    private static func maintain(client: RedisClient, channels: [String], patterns: [String], state: SubscriptionState) async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                let connection = try await RedisConnection.connect(
                    configuration: client.configuration, eventLoopGroup: client.eventLoopGroup, logger: client.logger,
                    id: -1, subscriberSink: { state.receive($0) })
                state.connectionOpened()
                if !channels.isEmpty {
                    try await connection.sendToSubscriber(RedisCommand("SUBSCRIBE", channels.map { RedisArgument($0) }))
                }
                if !patterns.isEmpty {
                    try await connection.sendToSubscriber(RedisCommand("PSUBSCRIBE", patterns.map { RedisArgument($0) }))
                }
                attempt = 0
                await withTaskCancellationHandler {
                    try? await connection.closeFuture.get()
                } onCancel: {
                    connection.channel.close(promise: nil)
                }
                state.connectionClosed()
                if !Task.isCancelled {
                    client.logger.warning("redis_subscriber_disconnected", metadata: ["endpoint": "\(client.configuration.endpoint)"])
                }
            } catch {
                client.logger.debug("redis_subscriber_connect_failed", metadata: ["error": .error(error)])
            }
            if Task.isCancelled { break }
            try? await Task.sleep(for: client.configuration.reconnectBackoff.delay(attempt: attempt))
            attempt += 1
        }
    }
}

/// Shared between the connection's event loop (which feeds it) and the subscription's task.
private final class SubscriptionState: Sendable {
    private struct Counters {
        var confirmations = 0
        var subscribed = false
        var subscribeCount = 0
        var dropped = 0
    }

    private let expectedConfirmations: Int
    private let continuation: AsyncStream<RedisPubSubMessage>.Continuation
    private let logger: Logger
    private let counters = Mutex(Counters())

    init(expectedConfirmations: Int, continuation: AsyncStream<RedisPubSubMessage>.Continuation, logger: Logger) {
        self.expectedConfirmations = expectedConfirmations
        self.continuation = continuation
        self.logger = logger
    }

    var isSubscribed: Bool { counters.withLock { $0.subscribed } }
    var subscribeCount: Int { counters.withLock { $0.subscribeCount } }

    func connectionOpened() { counters.withLock { $0.confirmations = 0 } }
    func connectionClosed() { counters.withLock { $0.subscribed = false } }

    /// Handles one inbound value: `message`/`pmessage` become elements, confirmations are counted.
    func receive(_ value: RESPValue) {
        guard let parts = value.elements, let kind = parts.first?.string?.lowercased() else { return }
        switch kind {
        case "message" where parts.count == 3:
            guard let channel = parts[1].string, let payload = parts[2].bytes else { return }
            deliver(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload))
        case "pmessage" where parts.count == 4:
            guard let pattern = parts[1].string, let channel = parts[2].string, let payload = parts[3].bytes else { return }
            deliver(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload))
        case "subscribe", "psubscribe":
            counters.withLock { counters in
                counters.confirmations += 1
                if counters.confirmations >= expectedConfirmations && !counters.subscribed {
                    counters.subscribed = true
                    counters.subscribeCount += 1
                }
            }
        default:
            break
        }
    }

    private func deliver(_ message: RedisPubSubMessage) {
        if case .dropped = continuation.yield(message) {
            let dropped = counters.withLock { counters -> Int in
                counters.dropped += 1
                return counters.dropped
            }
            if dropped == 1 || dropped % 1000 == 0 {
                logger.warning("redis_subscriber_overflow", metadata: [
                    "dropped_messages": .stringConvertible(dropped), "buffer_limit": .stringConvertible(RedisSubscription.bufferLimit),
                ])
            }
        }
    }
}
