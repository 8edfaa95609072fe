import DalstonRedis
import Logging

/// Picks the broker from the environment: `REDIS_URL` set → `RedisBroker`, otherwise the embedded
/// `InMemoryBroker` (everything in one process, no Redis needed).
public enum BrokerFactory {
    public static func make(
        environment: [String: String],
        options: BrokerOptions = BrokerOptions(),
        logger: Logger = Logger(label: "dalston.broker")
    ) throws(RedisError) -> any Broker {
        guard let url = environment["REDIS_URL"], !url.isEmpty else {
            logger.info("broker_selected", metadata: ["broker": "in-memory", "reason": "REDIS_URL is not set"])
            return InMemoryBroker(options: options, logger: logger)
        }
        let configuration = try RedisConfiguration(url: url)
        logger.info("broker_selected", metadata: ["broker": "redis", "endpoint": "\(configuration.endpoint)"])
        return RedisBroker(client: RedisClient(configuration: configuration), options: options, logger: logger)
    }
}
