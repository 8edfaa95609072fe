import DalstonCore
package import DalstonRecords
import Foundation
package import Logging
import PostgresNIO

/// The record database on PostgreSQL, for Dalston spread over machines (`DATABASE_URL`). A
/// pooled client; every call has a deadline, so a server that is down or unreachable makes
/// callers fail with `.unavailable` within `operationTimeout` instead of waiting for it.
package final class PostgresRecordDatabase: RecordDatabase {
    package let dialect = SQLDialect.postgres
    package let location: String
    private let client: PostgresClient
    private let pool: Task<Void, Never>
    private let operationTimeout: Duration
    private let logger: Logger

    /// A pooled client for `url`, its pool running (until `close()`). Connections are made on
    /// first use: a server that is down is an error of the first call, not of this one.
    package static func connect(url: PostgresURL, operationTimeout: Duration = .seconds(5), logger: Logger) async -> PostgresRecordDatabase {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: url.tls)
        configuration.options.connectTimeout = min(operationTimeout, .seconds(3))
        configuration.options.maximumConnections = url.maximumConnections
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        // The pool works only while `run()` does: start it before the first query asks for a connection.
        let (started, starting) = AsyncStream<Void>.makeStream()
        let pool = Task {
            starting.finish()
            await client.run()
        }
        for await _ in started {}
        return PostgresRecordDatabase(client: client, pool: pool, location: url.redacted, operationTimeout: operationTimeout, logger: logger)
    }

    private init(client: PostgresClient, pool: Task<Void, Never>, location: String, operationTimeout: Duration, logger: Logger) {
        self.client = client
        self.pool = pool
        self.location = location
        self.operationTimeout = operationTimeout
        self.logger = logger
    }

    package func query(_ sql: String, _ binds: [SQLValue]) async throws(RecordStoreError) -> [SQLRow] {
        let query = try Self.query(sql, binds)
        return try await withDeadline(operationTimeout) { [client, logger] in
            try await Self.rows(of: client.query(query, logger: logger))
        }
    }

    package func transaction<Result: Sendable>(
        timeout: Duration?, _ body: @escaping @Sendable (any SQLExecutor) async throws(RecordStoreError) -> Result
    ) async throws(RecordStoreError) -> Result {
        try await withDeadline(timeout ?? operationTimeout) { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                try await body(TransactionConnection(connection: connection, logger: logger))
            }
        }
    }

    package func close() async {
        pool.cancel()
        _ = await pool.value
    }

    /// A connection inside a transaction (the deadline is the transaction's).
    struct TransactionConnection: SQLExecutor {
        let connection: PostgresConnection
        let logger: Logger

        func query(_ sql: String, _ binds: [SQLValue]) async throws(RecordStoreError) -> [SQLRow] {
            let query = try PostgresRecordDatabase.query(sql, binds)
            do {
                return try await PostgresRecordDatabase.rows(of: connection.query(query, logger: logger))
            } catch {
                throw PostgresRecordDatabase.recordStoreError(error)
            }
        }
    }

    private func withDeadline<Result: Sendable>(
        _ timeout: Duration, _ body: @escaping @Sendable () async throws -> Result
    ) async throws(RecordStoreError) -> Result {
        do {
            return try await withThrowingTaskGroup(of: Result?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let result = first else {
                    throw RecordStoreError.unavailable("PostgreSQL at \(location) did not answer within \(timeout.seconds) s")
                }
                return result
            }
        } catch {
            throw Self.recordStoreError(error)
        }
    }

    static func query(_ sql: String, _ binds: [SQLValue]) throws(RecordStoreError) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .text(let text): bindings.append(text)
            case .integer(let number): bindings.append(number)
            case .real(let number): bindings.append(number)
            case .null: bindings.appendNull()
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    static func rows(of sequence: PostgresRowSequence) async throws -> [SQLRow] {
        var rows: [SQLRow] = []
        for try await row in sequence {
            var columns: [String: SQLValue] = [:]
            for cell in row {
                columns[cell.columnName] = try value(cell)
            }
            rows.append(SQLRow(columns))
        }
        return rows
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        default: return .text(try cell.decode(String.self))
        }
    }

    static func recordStoreError(_ error: any Error) -> RecordStoreError {
        if let error = error as? RecordStoreError { return error }
        if let error = error as? PostgresTransactionError, let cause = error.closureError ?? error.beginError ?? error.commitError {
            return recordStoreError(cause)
        }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                let message = error.serverInfo?[.message] ?? "\(error.code)"
                // Class 23: integrity constraint violation.
                if state.hasPrefix("23") { return .conflict(message) }
                return .unavailable("PostgreSQL refused a statement (\(state)): \(message)")
            }
            return .unavailable("PostgreSQL cannot be reached: \(error.code)")
        }
        if error is CancellationError { return .unavailable("the database call was cancelled") }
        return .unavailable("PostgreSQL: \(error)")
    }
}
