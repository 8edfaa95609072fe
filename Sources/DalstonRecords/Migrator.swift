package import Logging

/// Brings a database's schema up to this build's, at start-up, by whichever process comes
/// first: the whole run is one transaction under a lock (PostgreSQL's advisory lock, SQLite's
/// write lock), so processes starting together apply each step exactly once.
package enum Migrator {
    /// Any number; it only has to be the same in every Dalston process.
    static let advisoryLockKey: Int64 = 0x0DA1_5709

    /// How long a migration run may take (waiting for another process's run included) before
    /// start-up fails: far longer than a call's deadline, as schema changes can be slow.
    static let timeout: Duration = .seconds(300)

    /// Applies what is missing and returns the versions applied now (empty when up to date).
    @discardableResult
    package static func migrate(
        _ database: any RecordDatabase, migrations: [SchemaMigration] = SchemaMigration.all, logger: Logger
    ) async throws(RecordStoreError) -> [Int] {
        let dialect = database.dialect
        let applied = try await database.transaction(timeout: timeout) { transaction throws(RecordStoreError) -> [Int] in
            if dialect == .postgres {
                try await transaction.query("SELECT pg_advisory_xact_lock($1)", [.integer(advisoryLockKey)])
            }
            try await transaction.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)", [])
            let present = Set(try await transaction.query("SELECT version FROM schema_migrations", []).compactMap { $0.optionalInt("version") })
            if let newest = present.max(), let known = migrations.map(\.version).max(), newest > known {
                throw .configuration(
                    "the record database has schema version \(newest), newer than this build's \(known): run the newer Dalston, or another database")
            }
            var appliedNow: [Int] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !present.contains(migration.version) {
                for statement in migration.statements(dialect) {
                    try await transaction.query(statement, [])
                }
                try await transaction.query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    [.integer(Int64(migration.version)), .text(migration.name), .text(RecordTime.now)])
                appliedNow.append(migration.version)
            }
            return appliedNow
        }
        for version in applied {
            logger.notice("database_migrated", metadata: ["schema_version": .stringConvertible(version), "database": "\(database.location)"])
        }
        return applied
    }

    /// The newest version recorded in the database (0 before the first migration).
    package static func currentVersion(_ database: any RecordDatabase) async throws(RecordStoreError) -> Int {
        let rows = try await database.query("SELECT MAX(version) AS version FROM schema_migrations", [])
        return rows.first?.optionalInt("version") ?? 0
    }
}
