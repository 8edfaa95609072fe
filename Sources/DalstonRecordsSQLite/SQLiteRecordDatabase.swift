import DalstonCore
package import DalstonRecords
import Foundation
package import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization

/// The record database in one file, for Dalston in one process (`dalston up`, the default).
/// One connection, its statements run on NIO's thread pool one at a time (SQLite has one writer
/// anyway); WAL lets a second process (`dalston keys`) read and write beside it, waiting up to
/// `busyTimeout` for the lock instead of failing.
package final class SQLiteRecordDatabase: RecordDatabase {
    package let dialect = SQLDialect.sqlite
    package let location: String
    private let connection: SQLiteConnection
    private let thread: NIOThreadPool
    private let gate = AsyncGate()
    private let closed = Mutex(false)

    /// Opens (creating it and its directory if needed) the database at `path`; `:memory:` for
    /// one that lives as long as this object.
    package static func open(path: String, busyTimeout: Duration = .seconds(5), logger: Logger) async throws(RecordStoreError) -> SQLiteRecordDatabase {
        let storage: SQLiteConnection.Storage
        if path == ":memory:" {
            storage = .memory
        } else {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw .configuration("cannot create the directory of the record database \(path): \(error.localizedDescription); set DALSTON_DATA_DIR or DATABASE_URL")
            }
            storage = .file(path: path)
        }
        // A thread of its own: SQLite waits for another process's lock by sleeping in the calling
        // thread, which must not be one that other work (or another handle) needs meanwhile.
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: storage, threadPool: thread, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await thread.shutdownGracefully()
            throw .configuration("cannot open the record database \(path): \(error); check the path and its permissions")
        }
        let database = SQLiteRecordDatabase(connection: connection, thread: thread, location: path == ":memory:" ? "sqlite::memory:" : "sqlite:\(path)")
        let milliseconds = Int(busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000)
        for pragma in ["PRAGMA busy_timeout = \(milliseconds)", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"] {
            try await database.query(pragma, [])
        }
        // WAL is a property of the file: set once, by whichever process gets there first. Asking
        // again when it is already set would need a lock that other processes may be holding.
        let mode = try await database.query("PRAGMA journal_mode", []).first?.optionalString("journal_mode")
        if mode?.lowercased() != "wal" {
            try await database.query("PRAGMA journal_mode = WAL", [])
        }
        return database
    }

    private init(connection: SQLiteConnection, thread: NIOThreadPool, location: String) {
        self.connection = connection
        self.thread = thread
        self.location = location
    }

    package func query(_ sql: String, _ binds: [SQLValue]) async throws(RecordStoreError) -> [SQLRow] {
        await gate.enter()
        defer { gate.leave() }
        return try await Self.run(sql, binds, on: connection)
    }

    /// `timeout` is not needed here: SQLite's own busy timeout bounds the wait for the lock.
    package func transaction<Result: Sendable>(
        timeout: Duration?, _ body: @escaping @Sendable (any SQLExecutor) async throws(RecordStoreError) -> Result
    ) async throws(RecordStoreError) -> Result {
        await gate.enter()
        defer { gate.leave() }
        // IMMEDIATE: the write lock from the start, so two processes' transactions queue on
        // busy_timeout instead of one failing when it upgrades from reading to writing.
        try await Self.run("BEGIN IMMEDIATE", [], on: connection)
        do {
            let result = try await body(LockedConnection(connection: connection))
            try await Self.run("COMMIT", [], on: connection)
            return result
        } catch {
            _ = try? await Self.run("ROLLBACK", [], on: connection)
            throw error
        }
    }

    package func close() async {
        await gate.enter()
        defer { gate.leave() }
        guard !closed.withLock({ $0 }) else { return }
        try? await connection.close()
        try? await thread.shutdownGracefully()
        closed.withLock { $0 = true }
    }

    deinit {
        // Dropped without `close()` (a failed start-up): close the handle anyway, in the
        // background, rather than leak it.
        if !closed.withLock({ $0 }) {
            let (connection, thread) = (self.connection, self.thread)
            Task {
                try? await connection.close()
                try? await thread.shutdownGracefully()
            }
        }
    }

    /// The connection inside a transaction (the gate is already held).
    struct LockedConnection: SQLExecutor {
        let connection: SQLiteConnection

        func query(_ sql: String, _ binds: [SQLValue]) async throws(RecordStoreError) -> [SQLRow] {
            try await SQLiteRecordDatabase.run(sql, binds, on: connection)
        }
    }

    static func run(_ sql: String, _ binds: [SQLValue], on connection: SQLiteConnection) async throws(RecordStoreError) -> [SQLRow] {
        do {
            let rows = try await connection.query(Self.sqliteSQL(sql), binds.map(Self.data))
            return rows.map { row in
                SQLRow(Dictionary(row.columns.map { ($0.name, Self.value($0.data)) }, uniquingKeysWith: { first, _ in first }))
            }
        } catch let error as SQLiteError {
            throw Self.recordStoreError(error, statement: sql)
        } catch {
            throw .unavailable("\(error)")
        }
    }

    /// `$1` → `?1`: SQLite numbers its parameters that way.
    static func sqliteSQL(_ sql: String) -> String {
        sql.contains("$") ? sql.replacingOccurrences(of: "$", with: "?") : sql
    }

    static func data(_ value: SQLValue) -> SQLiteData {
        switch value {
        case .text(let text): .text(text)
        case .integer(let number): .integer(SQLiteInt64(number))
        case .real(let number): .float(number)
        case .null: .null
        }
    }

    static func value(_ data: SQLiteData) -> SQLValue {
        switch data {
        case .text(let text): .text(text)
        case .integer(let number): .integer(Int64(number))
        case .float(let number): .real(number)
        case .blob(let buffer): .text(String(buffer: buffer))
        case .null: .null
        }
    }

    static func recordStoreError(_ error: SQLiteError, statement: String) -> RecordStoreError {
        let statement = statement.split(whereSeparator: \.isNewline).first.map { String($0.prefix(60)) } ?? ""
        return switch error.reason {
        case .constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed:
            .conflict(error.message)
        case .busy, .locked, .busyTimeout:
            .unavailable("the SQLite database stayed locked by another process: \(error.message) (at \(statement))")
        case .full:
            .unavailable("the disk of the SQLite database is full: \(error.message)")
        case .readOnly:
            .unavailable("the SQLite database is read-only: \(error.message)")
        default:
            .unavailable("SQLite: \(error.message)")
        }
    }
}
