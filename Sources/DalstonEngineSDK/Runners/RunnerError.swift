/// Why a model runner could not do what was asked; each says what the operator should do.
package enum RunnerError: Error, Sendable, CustomStringConvertible {
    /// The process could not be started or did not report ready (Python or a package missing, a
    /// model that does not load).
    case failedToStart(String)
    /// The process ended while a request was in hand (crashed, killed, out of memory).
    case died(String)
    /// The runner answered the request with an error; `permanent`: retrying cannot help.
    case requestFailed(String, permanent: Bool)
    /// The runner's answer did not follow the protocol.
    case protocolViolation(String)
    /// The request was cancelled: the runner was killed to stop its work.
    case cancelled

    package var description: String {
        switch self {
        case .failedToStart(let reason): "the model runner could not start: \(reason)"
        case .died(let reason): "the model runner died during the task: \(reason)"
        case .requestFailed(let message, _): message
        case .protocolViolation(let reason): "the model runner broke the protocol: \(reason)"
        case .cancelled: "the task was cancelled"
        }
    }
}
