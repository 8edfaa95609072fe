import DalstonLogging
public import DalstonRedis
import Foundation
public import Logging
import Synchronization

/// The broker on Redis: one stream per engine type with a consumer group, `XAUTOCLAIM` for
/// redelivery after the visibility timeout, a dead-letter stream per engine, pub/sub for events,
/// hashes for state.
///
/// Acknowledging deletes the entry (`XACK` + `XDEL` in one script), so a stream's length is
/// the work not yet done: waiting plus in flight.
public final class RedisBroker: Broker {
    public let client: RedisClient
    public let options: BrokerOptions
    let keys: RedisKeys
    let logger: Logger
    let groupsCreated = Mutex<Set<String>>([])
    let enginesRegistered = Mutex<Set<String>>([])
    let lastClaimCheck = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Dead letters kept per engine (older ones are trimmed).
    public static let deadLetterLimit = 10_000

    public init(client: RedisClient, options: BrokerOptions = BrokerOptions(), logger: Logger = Logger(label: "dalston.broker")) {
        self.client = client
        self.options = options
        self.keys = RedisKeys(prefix: options.keyPrefix)
        self.logger = logger
    }

    /// How often a waiting consumer looks for deliveries whose visibility timeout ran out: a
    /// quarter of the timeout, at most every 5 s (an idle engine costs Redis little).
    var claimInterval: Duration { min(options.visibilityTimeout / 4, .seconds(5)) }

    public func shutdown() async {
        await client.shutdown()
    }

    /// Runs Redis work, turning transport failures into `BrokerError.unavailable`.
    @discardableResult
    func redis<Result>(_ body: () async throws -> Result) async throws(BrokerError) -> Result {
        do {
            return try await body()
        } catch let error as BrokerError {
            throw error
        } catch let error as RedisError {
            throw .unavailable(error.description)
        } catch {
            throw .unavailable("\(error)")
        }
    }
}
