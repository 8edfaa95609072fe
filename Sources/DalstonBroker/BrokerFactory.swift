import DalstonRedis
import Logging

/// Picks the broker from the environment: `REDIS_URL` set → `RedisBroker`, otherwise the embedded
/// `InMemoryBroker` (everything in one process, no Redis needed). `DALSTON_TASK_VISIBILITY_TIMEOUT`
/// (seconds) sets how long an unacknowledged task waits before redelivery.
public enum BrokerFactory {
    public static func make(
        environment: [String: String],
        options: BrokerOptions = BrokerOptions(),
        logger: Logger = Logger(label: "dalston.broker")
    ) throws(BrokerConfigurationError) -> any Broker {
        var options = options
        if let text = environment["DALSTON_TASK_VISIBILITY_TIMEOUT"], !text.isEmpty {
            guard let seconds = Double(text), seconds >= 0.1, seconds <= 86_400 else {
                throw BrokerConfigurationError(description: "invalid DALSTON_TASK_VISIBILITY_TIMEOUT=\"\(text)\": expected seconds between 0.1 and 86400")
            }
            options.visibilityTimeout = .milliseconds(Int(seconds * 1000))
        }
        guard let url = environment["REDIS_URL"], !url.isEmpty else {
            logger.info("broker_selected", metadata: ["broker": "in-memory", "reason": "REDIS_URL is not set"])
            return InMemoryBroker(options: options, logger: logger)
        }
        let configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: url)
        } catch {
            throw BrokerConfigurationError(description: error.description)
        }
        logger.info("broker_selected", metadata: ["broker": "redis", "endpoint": "\(configuration.endpoint)"])
        return RedisBroker(client: RedisClient(configuration: configuration), options: options, logger: logger)
    }
}

/// An environment value the broker cannot start with.
public struct BrokerConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
}
