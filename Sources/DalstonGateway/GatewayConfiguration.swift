import DalstonCore
/// How the gateway listens and whom it lets in, from the environment.
public struct GatewayConfiguration: Sendable {
    public enum SecurityMode: String, Sendable {
        /// No authentication: the embedded default for a local machine.
        case none
        /// `Authorization: Bearer <key>` (or `xi-api-key: <key>`) must be one of `apiKeys`.
        case apiKey = "api_key"
    }

    public var host = "127.0.0.1"
    public var port = 8000
    public var securityMode: SecurityMode = .none
    public var apiKeys: Set<String> = []
    /// Largest accepted upload.
    public var maximumUploadBytes = 100 * 1024 * 1024
    /// How long the synchronous ElevenLabs endpoint waits for the transcript.
    public var synchronousTimeout: Duration = .seconds(300)

    public init() {}

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads `DALSTON_HOST`, `DALSTON_PORT`, `DALSTON_SECURITY_MODE`, `DALSTON_API_KEYS`,
    /// `DALSTON_MAX_UPLOAD_MB`. Keys without a mode turn `api_key` on; `api_key` without keys is an
    /// error (it would lock everyone out).
    public static func fromEnvironment(_ environment: [String: String]) throws(Invalid) -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        if let host = environment["DALSTON_HOST"], !host.isEmpty { configuration.host = host }
        do {
            configuration.port = try EnvironmentValue("DALSTON_PORT", in: environment).port(default: configuration.port) ?? configuration.port
            configuration.maximumUploadBytes = try EnvironmentValue("DALSTON_MAX_UPLOAD_MB", in: environment)
                .integer(in: 1...4096, default: configuration.maximumUploadBytes / (1024 * 1024)) * 1024 * 1024
        } catch {
            throw Invalid(description: error.description)
        }
        configuration.apiKeys = Set((environment["DALSTON_API_KEYS"] ?? "").split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty })
        if let raw = environment["DALSTON_API_KEYS"], !raw.isEmpty, configuration.apiKeys.isEmpty {
            // " , " must not quietly turn authentication off.
            throw Invalid(description: "DALSTON_API_KEYS is set but holds no key (\(raw.count) characters of separators and spaces): give comma-separated keys, or unset it")
        }
        if let mode = environment["DALSTON_SECURITY_MODE"], !mode.isEmpty {
            guard let parsed = SecurityMode(rawValue: mode.lowercased()) else {
                throw Invalid(description: "invalid DALSTON_SECURITY_MODE=\"\(mode)\": use none or api_key")
            }
            configuration.securityMode = parsed
        } else if !configuration.apiKeys.isEmpty {
            configuration.securityMode = .apiKey
        }
        if configuration.securityMode == .apiKey && configuration.apiKeys.isEmpty {
            throw Invalid(description: "DALSTON_SECURITY_MODE=api_key needs DALSTON_API_KEYS (comma-separated keys)")
        }
        return configuration
    }
}

extension String {
    var trimmed: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
