package import DalstonCore
import Foundation

/// Where the records are, from the environment: `DATABASE_URL` (`postgres://...`, or
/// `sqlite:/path/to/file`), else an SQLite file under `DALSTON_DATA_DIR`, so `dalston up`
/// keeps its history with no settings at all.
package struct RecordStoreConfiguration: Sendable, Equatable {
    package enum Location: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)
    }

    package var location: Location
    /// How long one database call may take before it fails as unavailable
    /// (`DALSTON_DATABASE_TIMEOUT`, seconds).
    package var operationTimeout: Duration
    /// Days a finished job is kept when it does not say (`DALSTON_RETENTION_DAYS`; nil: for good).
    package var defaultRetentionDays: Int?

    package init(location: Location, operationTimeout: Duration = .seconds(5), defaultRetentionDays: Int? = nil) {
        self.location = location
        self.operationTimeout = operationTimeout
        self.defaultRetentionDays = defaultRetentionDays
    }

    package static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> RecordStoreConfiguration {
        var configuration = try parseLocation(environment)
        configuration.operationTimeout = try EnvironmentValue("DALSTON_DATABASE_TIMEOUT", in: environment).seconds(in: 0.1...300, default: .seconds(5))
        if let days = environment["DALSTON_RETENTION_DAYS"], !days.isEmpty {
            configuration.defaultRetentionDays = try EnvironmentValue("DALSTON_RETENTION_DAYS", in: environment).integer(in: 0...36_500, default: 0)
        }
        return configuration
    }

    static func parseLocation(_ environment: [String: String]) throws(ConfigurationError) -> RecordStoreConfiguration {
        let timeout = Duration.seconds(5)
        let url = (environment["DATABASE_URL"] ?? "").trimmingCharacters(in: .whitespaces)
        if url.isEmpty {
            let dataDirectory = environment["DALSTON_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".dalston-data"
            return RecordStoreConfiguration(location: .sqlite(path: dataDirectory + "/dalston.sqlite"), operationTimeout: timeout)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return RecordStoreConfiguration(location: .postgres(url: url), operationTimeout: timeout)
        }
        if url.hasPrefix("sqlite:") {
            var path = String(url.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw ConfigurationError(description: "DATABASE_URL=sqlite: needs a file path, e.g. sqlite:/var/lib/dalston/dalston.sqlite") }
            return RecordStoreConfiguration(location: .sqlite(path: path), operationTimeout: timeout)
        }
        throw ConfigurationError(description: "DATABASE_URL must start with postgres:// or sqlite: (or be unset for SQLite under DALSTON_DATA_DIR)")
    }
}
