import DalstonCore
import DalstonRedis
public import Logging

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
        do {
            options.visibilityTimeout = try EnvironmentValue("DALSTON_TASK_VISIBILITY_TIMEOUT", in: environment)
                .seconds(in: 0.1...86_400, default: options.visibilityTimeout)
        } catch {
            throw BrokerConfigurationError(description: error.description)
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
