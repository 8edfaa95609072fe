import ArgumentParser
import DalstonCore
import DalstonPipeline
import DalstonRecords
import DalstonRuntime
import Foundation
import Logging

/// `dalston keys create|list|revoke`: API keys in the record database (`DATABASE_URL`, else
/// SQLite under `DALSTON_DATA_DIR`). A key's secret is printed once, at creation; only its hash
/// is kept.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys (stored hashed in the record database).",
        discussion: """
            dalston keys create --scopes jobs:read,jobs:write,realtime --name ci --expires 30d
            dalston keys list
            dalston keys revoke dk_Ab3x9        (its prefix, or its id key_…)
            Scopes: jobs:read, jobs:write, realtime, webhooks, admin (all of them).
            The gateway checks keys when DALSTON_SECURITY_MODE=api_key (or DALSTON_API_KEYS is set).
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key and print its secret, once.")

        @Option(help: "Comma-separated: jobs:read, jobs:write, realtime, webhooks, admin.")
        var scopes: String

        @Option(help: "What the key is for, to tell keys apart.")
        var name: String = "unnamed"

        @Option(help: "Expire after this long: 12h, 30d (default: never).")
        var expires: String?

        @Option(help: "The tenant whose jobs the key sees and submits (default: the default tenant, 00000000-0000-0000-0000-000000000000).")
        var tenant: String = JobTenancy.defaultTenant

        @Option(name: .customLong("rate-limit"), help: "Requests per minute (default: the gateway's DALSTON_RATE_LIMIT_REQUESTS_PER_MINUTE).")
        var rateLimit: Int?

        @Option(name: .customLong("max-concurrent-jobs"), help: "Jobs in progress at once (default: the gateway's DALSTON_RATE_LIMIT_CONCURRENT_JOBS).")
        var maxConcurrentJobs: Int?

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            let scopes: Set<APIKeyScope>
            do {
                scopes = try APIKeyScope.parseList(self.scopes)
            } catch {
                throw ValidationError(error.description)
            }
            var expiresAt: Date?
            if let expires {
                guard let seconds = LogLevelCommand.seconds(expires) else { throw ValidationError("--expires takes a duration such as 12h or 30d") }
                expiresAt = Date().addingTimeInterval(seconds)
            }
            guard APIKeyTerms.validTenant(tenant) else { throw ValidationError("--tenant is 1 to 64 letters, digits, '-', '_' or '.'") }
            if let rateLimit, rateLimit < 1 { throw ValidationError("--rate-limit is at least 1 request per minute") }
            if let maxConcurrentJobs, maxConcurrentJobs < 1 { throw ValidationError("--max-concurrent-jobs is at least 1") }
            let terms = APIKeyTerms(
                name: name, scopes: scopes, expiresAt: expiresAt, tenantID: tenant, rateLimit: rateLimit, maxConcurrentJobs: maxConcurrentJobs)
            let created = try await KeysCommand.withRecords { records in
                let created = try await records.apiKeys.create(terms)
                try await records.audit.record(AuditEntry(
                    actor: "cli", action: "api_key.created", resourceType: "api_key", resourceID: created.key.id, detail: "\(scopes.listText) tenant \(terms.tenantID)"))
                return created
            }
            if json {
                KeysCommand.printJSON(CreatedKeyOutput(key: created.key, secret: created.secret))
            } else {
                print(created.secret)
                FileHandle.standardError.write(Data("""
                    key \(created.key.id) (\(created.key.name)) with scopes \(scopes.listText)\(expiresAt.map { ", expires \(Timestamp.string($0))" } ?? "")
                    This is the only time the key is shown: store it now.

                    """.utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            let keys = try await KeysCommand.withRecords { records in try await records.apiKeys.list() }
            if json {
                KeysCommand.printJSON(keys)
                return
            }
            print("ID                    PREFIX     NAME                 SCOPES                          STATE     LAST USED")
            for key in keys {
                let state = key.revokedAt != nil ? "revoked" : (key.isValid() ? "active" : "expired")
                let columns = [
                    key.id.padding(toLength: 21, withPad: " ", startingAt: 0), key.prefix.padding(toLength: 10, withPad: " ", startingAt: 0),
                    KeysCommand.printable(key.name).padding(toLength: 20, withPad: " ", startingAt: 0),
                    key.scopes.listText.padding(toLength: 31, withPad: " ", startingAt: 0), state.padding(toLength: 9, withPad: " ", startingAt: 0),
                    key.lastUsedAt.map(Timestamp.string) ?? "never",
                ]
                print(columns.joined(separator: " "))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: the gateway refuses it from now on.")

        @Argument(help: "The key's id (key_…) or its prefix (dk_…).")
        var key: String

        func run() async throws {
            let revoked = try await KeysCommand.withRecords { records in
                let revoked = try await records.apiKeys.revoke(key)
                if let revoked {
                    try await records.audit.record(AuditEntry(actor: "cli", action: "api_key.revoked", resourceType: "api_key", resourceID: revoked.id))
                }
                return revoked
            }
            guard let revoked else { throw ValidationError("no key has the id or prefix \(key); dalston keys list shows them") }
            print("revoked \(revoked.id) (\(revoked.prefix), \(KeysCommand.printable(revoked.name)))")
        }
    }

    struct CreatedKeyOutput: Encodable {
        let key: APIKey
        let secret: String
    }

    /// Opens the record database from the environment, runs `body`, closes it.
    static func withRecords<Result: Sendable>(_ body: (RecordStore) async throws -> Result) async throws -> Result {
        let environment = ProcessInfo.processInfo.environment
        let logger = Logger(label: "dalston.cli", factory: { _ in SwiftLogNoOpLogHandler() })
        let records: RecordStore
        do {
            records = try await RecordStoreFactory.open(try RecordStoreConfiguration.fromEnvironment(environment), logger: logger)
        } catch {
            exitWithConfigurationError(error.description)
        }
        do {
            let result = try await body(records)
            await records.close()
            return result
        } catch {
            await records.close()
            throw error
        }
    }

    static func printJSON(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.string(date))
        }
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }

    /// A name as typed by someone: control characters shown escaped, so a name cannot forge lines.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }
}
