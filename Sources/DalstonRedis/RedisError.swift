/// Everything that can go wrong talking to Redis, each saying what to check.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error reply (`-ERR ...`, `-WRONGTYPE ...`).
    case server(String)
    /// Could not connect (after the configured timeout).
    case connectionFailed(endpoint: String, reason: String)
    /// The connection dropped while the command was in flight; it may or may not have run.
    case connectionClosed
    /// No reply within the command timeout; the connection was closed to keep replies in order.
    case timedOut(command: String, seconds: Double)
    /// The server sent bytes that are not valid RESP.
    case protocolViolation(String)
    /// `REDIS_URL` cannot be used.
    case invalidURL(String)
    /// A reply of an unexpected shape for the command.
    case unexpectedReply(command: String, reply: String)
    /// Every pooled connection stayed busy for the whole wait.
    case noConnectionAvailable(limit: Int, seconds: Double)
    /// The client has been shut down.
    case clientClosed

    public var description: String {
        switch self {
        case .server(let message):
            return "Redis replied with an error: \(message)"
        case .connectionFailed(let endpoint, let reason):
            return "cannot connect to Redis at \(endpoint): \(reason); check that redis-server is running and REDIS_URL is right"
        case .connectionClosed:
            return "the connection to Redis closed while a command was in flight; the command may or may not have run"
        case .timedOut(let command, let seconds):
            return "Redis did not answer \(command) within \(seconds) s; the connection was reset"
        case .protocolViolation(let reason):
            return "Redis sent a malformed reply (\(reason)); the connection was reset"
        case .invalidURL(let reason):
            return "invalid REDIS_URL: \(reason)"
        case .unexpectedReply(let command, let reply):
            return "unexpected reply to \(command): \(reply)"
        case .noConnectionAvailable(let limit, let seconds):
            return "all \(limit) Redis connections stayed busy for \((seconds * 10).rounded() / 10) s; raise maximumConnections or lower the concurrency"
        case .clientClosed:
            return "the Redis client has been shut down"
        }
    }
}
