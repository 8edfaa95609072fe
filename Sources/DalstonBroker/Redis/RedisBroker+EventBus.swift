import DalstonRedis
import Foundation
import Logging

/// Events: one pub/sub channel of `EventEnvelope` JSON.
extension RedisBroker {
    // MARK: Events

    public func publish(_ event: EventEnvelope) async throws(BrokerError) {
        let payload = try MessageCoding.encode(event)
        try await redis { try await client.publish(keys.events, payload) }
    }

    public func events() -> EventStream {
        let subscription = client.subscribe(channels: [keys.events])
        let logger = self.logger
        let (stream, continuation) = AsyncStream.makeStream(of: EventEnvelope.self, bufferingPolicy: .bufferingOldest(100_000))
        let pump = Task {
            for await message in subscription {
                do {
                    continuation.yield(try MessageCoding.decodeEvent(message.payload))
                } catch {
                    logger.warning("event_undecodable", metadata: ["channel": "\(message.channel)", "error": "\(error)", "bytes": .stringConvertible(message.payload.count)])
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            pump.cancel()
            subscription.cancel()
        }
        return EventStream(
            stream: stream,
            readiness: { timeout in await subscription.waitUntilSubscribed(timeout: timeout) },
            cancellation: { continuation.finish() })
    }
}
