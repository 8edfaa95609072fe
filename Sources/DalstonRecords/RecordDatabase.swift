/// Runs SQL written once for both databases: placeholders are `$1`, `$2`, ... and only the
/// types of `SQLValue` are bound.
package protocol SQLExecutor: Sendable {
    @discardableResult
    func query(_ sql: String, _ binds: [SQLValue]) async throws(RecordStoreError) -> [SQLRow]
}

/// The two databases Dalston keeps its records in.
package enum SQLDialect: String, Sendable {
    case sqlite
    case postgres
}

/// A record database: SQLite in one process, PostgreSQL when distributed.
package protocol RecordDatabase: SQLExecutor {
    var dialect: SQLDialect { get }
    /// Where it is, for logs and `/v1/status` (never with a password).
    var location: String { get }
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    /// On SQLite the transaction holds the write lock from its start, so transactions of
    /// several processes queue instead of failing on upgrade. `timeout` replaces the database's
    /// per-call deadline (migrations, which may legitimately take long, pass their own).
    func transaction<Result: Sendable>(
        timeout: Duration?, _ body: @escaping @Sendable (any SQLExecutor) async throws(RecordStoreError) -> Result
    ) async throws(RecordStoreError) -> Result
    func close() async
}

extension RecordDatabase {
    /// A transaction under the database's per-call deadline.
    package func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLExecutor) async throws(RecordStoreError) -> Result
    ) async throws(RecordStoreError) -> Result {
        try await transaction(timeout: nil, body)
    }
}
