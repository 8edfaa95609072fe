import DalstonCore
package import DalstonOutboundHTTP
#if canImport(Glibc)
import Glibc
#endif
/// How the gateway listens and whom it lets in, from the environment.
package struct GatewayConfiguration: Sendable {
    package enum SecurityMode: String, Sendable {
        /// No authentication: the embedded default for a local machine.
        case none
        /// `Authorization: Bearer <key>` (or `xi-api-key: <key>`) must be one of `apiKeys` or a
        /// valid key of the record database, with the scope the route needs.
        case apiKey = "api_key"
    }

    package var host = "127.0.0.1"
    /// The models requests may name (the deployment sets the installed ones; PocketSphinx alone
    /// by default).
    package var models: ModelCatalogue = .builtInOnly
    /// Origins whose pages may call the API from a browser (`DALSTON_CORS_ORIGINS`; none: CORS off).
    package var corsOrigins: [String] = []
    package var port = 8000
    package var securityMode: SecurityMode = .none
    package var apiKeys: Set<String> = []
    /// Largest accepted upload.
    package var maximumUploadBytes = 100 * 1024 * 1024
    /// Longest accepted audio: CPU and disk per job grow with it, whatever the file size.
    package var maximumAudioDuration: Duration = .seconds(4 * 3600)
    /// Uploads received at once; more get 503 with `Retry-After` instead of queueing in memory.
    package var maximumConcurrentUploads = 32
    /// Largest form field other than the file (`language`, `model_id`, a prompt).
    package var maximumFieldBytes = 64 * 1024
    /// Largest reference clip of a known speaker (`known_speaker_references[]`, a data URL of
    /// 2 to 10 s of audio): up to 10 s of 48 kHz stereo WAV, base64-encoded.
    package var maximumReferenceClipFieldBytes = 4 * 1024 * 1024

    /// The largest value the form field `name` may have.
    func maximumBytes(ofField name: String) -> Int {
        name.hasPrefix("known_speaker_references") ? maximumReferenceClipFieldBytes : maximumFieldBytes
    }
    /// Most form fields in one upload.
    package var maximumFields = 64
    /// How long a connection may stay open without a request in progress: between keep-alive
    /// requests and while a request's headers are arriving.
    package var idleTimeout: Duration = .seconds(30)
    /// How long a request's body may take to arrive, from its headers to its last byte.
    package var bodyTimeout: Duration = .seconds(600)
    /// Most open client connections (NIO accepts in batches, so up to 3 more); further ones wait
    /// in the listen backlog. Defaults to what
    /// the file-descriptor limit allows, less a reserve for Redis, files and the metrics port.
    package var maximumConnections = GatewayConfiguration.connectionsAllowedByDescriptorLimit()
    /// How long the synchronous ElevenLabs endpoint waits for the transcript.
    package var synchronousTimeout: Duration = .seconds(300)
    /// A realtime client that sends nothing for this long gets `session_timeout`
    /// (`DALSTON_REALTIME_IDLE_TIMEOUT`).
    package var realtimeIdleTimeout: Duration = .seconds(30)
    /// Largest WebSocket message a realtime client may send (`DALSTON_REALTIME_MAX_FRAME_BYTES`).
    package var realtimeMaximumFrameBytes = 1 << 20
    /// How long a session that lost its client waits for the worker's `session.end`.
    package var realtimeEndWait: Duration = .seconds(10)
    /// Whether `/ready` waits for a realtime worker that can take a session
    /// (`DALSTON_READY_REQUIRES_REALTIME`; `dalston up`, whose worker is its own, always does).
    package var readinessRequiresRealtime = false
    /// Per-key limits where a key sets none (`DALSTON_RATE_LIMIT_REQUESTS_PER_MINUTE`,
    /// `DALSTON_RATE_LIMIT_CONCURRENT_JOBS`; 0 or unset: none).
    package var limits = RequestLimits()
    /// Whether jobs may name their own `webhook_url` (`DALSTON_WEBHOOK_SECRET` is set to sign them).
    package var perJobWebhooks = false
    /// Whether `GET …/{id}/audio` redirects to a presigned URL of the object store instead of
    /// streaming the bytes through the gateway (`DALSTON_PRESIGNED_DOWNLOADS`; S3 storage only).
    package var presignedDownloads = false
    /// Which addresses URLs from clients (audio URLs, webhooks) may reach: public ones, unless
    /// `DALSTON_ALLOW_PRIVATE_URLS=true`.
    package var addressPolicy = AddressPolicy(allowsPrivate: false)
    /// The object-storage settings (`AWS_*`, `DALSTON_S3_*`, `DALSTON_ARTIFACTS_URL`,
    /// `DALSTON_AUDIO_URL_S3_BUCKETS`) for reading `s3://` audio URLs.
    package var storageEnvironment: [String: String] = [:]
    /// How long a presigned download URL stays valid (`DALSTON_PRESIGNED_URL_SECONDS`, default 15 min).
    package var presignedURLLifetime: Duration = .seconds(900)

    package init() {}

    package struct Invalid: Error, CustomStringConvertible {
        package let description: String
    }

    /// Reads `DALSTON_HOST`, `DALSTON_PORT`, `DALSTON_SECURITY_MODE`, `DALSTON_API_KEYS`, the upload
    /// limits (`DALSTON_MAX_UPLOAD_MB`, `DALSTON_MAX_AUDIO_SECONDS`, `DALSTON_MAX_CONCURRENT_UPLOADS`)
    /// and the connection limits (`DALSTON_HTTP_IDLE_TIMEOUT`, `DALSTON_HTTP_BODY_TIMEOUT`,
    /// `DALSTON_HTTP_MAX_CONNECTIONS`). Keys without a mode turn `api_key` on; `api_key` alone takes
    /// the keys of the record database.
    package static func fromEnvironment(_ environment: [String: String]) throws(Invalid) -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        if let host = environment["DALSTON_HOST"], !host.isEmpty { configuration.host = host }
        do {
            configuration.port = try EnvironmentValue("DALSTON_PORT", in: environment).port(default: configuration.port) ?? configuration.port
            configuration.maximumUploadBytes = try EnvironmentValue("DALSTON_MAX_UPLOAD_MB", in: environment)
                .integer(in: 1...4096, default: configuration.maximumUploadBytes / (1024 * 1024)) * 1024 * 1024
            configuration.maximumAudioDuration = try EnvironmentValue("DALSTON_MAX_AUDIO_SECONDS", in: environment)
                .seconds(in: 1...86_400, default: configuration.maximumAudioDuration)
            configuration.maximumConcurrentUploads = try EnvironmentValue("DALSTON_MAX_CONCURRENT_UPLOADS", in: environment)
                .integer(in: 1...10_000, default: configuration.maximumConcurrentUploads)
            configuration.idleTimeout = try EnvironmentValue("DALSTON_HTTP_IDLE_TIMEOUT", in: environment)
                .seconds(in: 0.1...3600, default: configuration.idleTimeout)
            configuration.bodyTimeout = try EnvironmentValue("DALSTON_HTTP_BODY_TIMEOUT", in: environment)
                .seconds(in: 0.1...86_400, default: configuration.bodyTimeout)
            configuration.maximumConnections = try EnvironmentValue("DALSTON_HTTP_MAX_CONNECTIONS", in: environment)
                .integer(in: 1...1_000_000, default: configuration.maximumConnections)
            configuration.readinessRequiresRealtime = try EnvironmentValue("DALSTON_READY_REQUIRES_REALTIME", in: environment).bool(default: false)
            configuration.realtimeIdleTimeout = try EnvironmentValue("DALSTON_REALTIME_IDLE_TIMEOUT", in: environment)
                .seconds(in: 0.1...86_400, default: configuration.realtimeIdleTimeout)
            configuration.realtimeMaximumFrameBytes = try EnvironmentValue("DALSTON_REALTIME_MAX_FRAME_BYTES", in: environment)
                .integer(in: 1024...(64 << 20), default: configuration.realtimeMaximumFrameBytes)
            let requests = try EnvironmentValue("DALSTON_RATE_LIMIT_REQUESTS_PER_MINUTE", in: environment).integer(in: 0...1_000_000, default: 0)
            let jobs = try EnvironmentValue("DALSTON_RATE_LIMIT_CONCURRENT_JOBS", in: environment).integer(in: 0...100_000, default: 0)
            configuration.limits = RequestLimits(requestsPerMinute: requests > 0 ? requests : nil, concurrentJobs: jobs > 0 ? jobs : nil)
            configuration.presignedDownloads = try EnvironmentValue("DALSTON_PRESIGNED_DOWNLOADS", in: environment).bool(default: false)
            configuration.presignedURLLifetime = try EnvironmentValue("DALSTON_PRESIGNED_URL_SECONDS", in: environment)
                .seconds(in: 1...604_800, default: configuration.presignedURLLifetime)
        } catch {
            throw Invalid(description: error.description)
        }
        configuration.perJobWebhooks = !(environment["DALSTON_WEBHOOK_SECRET"] ?? "").isEmpty
        configuration.addressPolicy = AddressPolicy.fromEnvironment(environment)
        configuration.storageEnvironment = environment.filter { $0.key.hasPrefix("AWS_") || $0.key.hasPrefix("DALSTON_S3_") || $0.key == "DALSTON_ARTIFACTS_URL" || $0.key == "DALSTON_AUDIO_URL_S3_BUCKETS" }
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
        // `api_key` without DALSTON_API_KEYS is fine: the keys are then those of the record
        // database (`dalston keys create`).
        configuration.corsOrigins = try corsOrigins(environment["DALSTON_CORS_ORIGINS"] ?? "")
        return configuration
    }
}

extension GatewayConfiguration {
    /// `DALSTON_CORS_ORIGINS`: comma-separated origins (`https://app.example.com`,
    /// `http://localhost:5173`) or `*`; each exactly as browsers send it in `Origin`.
    static func corsOrigins(_ raw: String) throws(Invalid) -> [String] {
        let origins = raw.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
        for origin in origins where origin != "*" {
            let parts = origin.split(separator: "/", omittingEmptySubsequences: false)
            let valid = parts.count == 3 && ["http:", "https:"].contains(parts[0].lowercased()) && parts[1].isEmpty && !parts[2].isEmpty
                && !parts[2].contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" })
            guard valid else {
                throw Invalid(description: "DALSTON_CORS_ORIGINS holds \"\(origin.prefix(100))\", which is not an origin: give scheme://host[:port] without a path (or *)")
            }
        }
        return origins
    }

    /// The soft `RLIMIT_NOFILE` less 64 descriptors for everything else, between 16 and 4096.
    static func connectionsAllowedByDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < 1 << 30 else { return 4096 }
        return max(16, min(4096, Int(limit.rlim_cur) - 64))
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
