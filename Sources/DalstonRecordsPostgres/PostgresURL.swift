package import DalstonRecords
import Foundation
package import PostgresNIO

/// `postgres://user:password@host:5432/database?sslmode=disable&pool_max=20`, checked at
/// start-up so a typo is a clear configuration error, not a connection that never succeeds.
package struct PostgresURL: Sendable {
    package var host: String
    package var port: Int
    package var username: String
    package var password: String?
    package var database: String?
    package var tls: PostgresClient.Configuration.TLS
    package var maximumConnections: Int

    package init(_ text: String) throws(RecordStoreError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw .configuration("DATABASE_URL must look like postgres://user:password@host:5432/database (got a value that does not)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .configuration("DATABASE_URL has no host: use postgres://user:password@host:5432/database")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? nil : path
        self.tls = .prefer(.makeClientConfiguration())
        self.maximumConnections = 20
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable": tls = .disable
                case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
                case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
                default: throw .configuration("DATABASE_URL sslmode=\(item.value ?? "") is not known: use disable, prefer or require")
                }
            case "pool_max":
                guard let value = item.value.flatMap(Int.init), (1...500).contains(value) else {
                    throw .configuration("DATABASE_URL pool_max=\(item.value ?? "") must be a number from 1 to 500")
                }
                maximumConnections = value
            default:
                throw .configuration("DATABASE_URL parameter \(item.name) is not known: use sslmode or pool_max")
            }
        }
    }

    /// The URL without its password, for logs and `/v1/status`.
    package var redacted: String {
        "postgres://\(username)@\(host):\(port)/\(database ?? "")"
    }
}
