import DalstonRecords
import DalstonRecordsPostgres
import DalstonRecordsSQLite
import DalstonTestSupport
import Foundation
import Logging

/// The databases the conformance suite runs on: SQLite always, PostgreSQL where it is
/// installed (always under `make test` and CI).
enum RecordDatabaseKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    var description: String { rawValue }

    static var available: [RecordDatabaseKind] {
        PostgresServerProcess.shouldRun ? allCases : [.sqlite]
    }

    /// A fresh, empty database of this kind; `open()` gives another handle on the same one, as
    /// a second process would have.
    func makeEmpty() async throws -> TestDatabase {
        switch self {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-records-\(UUID().uuidString)/dalston.sqlite").path
            return TestDatabase(kind: self, location: path)
        case .postgres:
            return TestDatabase(kind: self, location: try await SharedPostgres.server().createDatabase())
        }
    }
}

struct TestDatabase: Sendable {
    let kind: RecordDatabaseKind
    let location: String
    static let logger = Logger(label: "dalston.records.test")

    func open(timeout: Duration = .seconds(5)) async throws -> any RecordDatabase {
        switch kind {
        case .sqlite: try await SQLiteRecordDatabase.open(path: location, busyTimeout: timeout, logger: Self.logger)
        case .postgres: await PostgresRecordDatabase.connect(url: try PostgresURL(location), operationTimeout: timeout, logger: Self.logger)
        }
    }

    /// A migrated store over a new handle.
    func store() async throws -> RecordStore {
        try await RecordStore.open(try await open(), logger: Self.logger)
    }
}

/// One PostgreSQL server for the whole test process; each test takes its own database on it.
enum SharedPostgres {
    private static let starting = Locked<Task<PostgresServerProcess, any Error>?>(nil)

    static func server() async throws -> PostgresServerProcess {
        let task = starting.withLock { task in
            if let task { return task }
            let started = Task { try await PostgresServerProcess() }
            task = started
            return started
        }
        return try await task.value
    }
}

/// Runs `body`, then closes the store whatever happened.
func withStore<Result>(_ store: RecordStore, _ body: (RecordStore) async throws -> Result) async throws -> Result {
    do {
        let result = try await body(store)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}
