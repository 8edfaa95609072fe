package import DalstonCore
package import DalstonRecords
import DalstonRecordsPostgres
import DalstonRecordsSQLite
package import Logging

/// Opens the record database a configuration names and brings its schema up to date.
package enum RecordStoreFactory {
    package static func open(_ configuration: RecordStoreConfiguration, logger: Logger) async throws(ConfigurationError) -> RecordStore {
        do {
            let database: any RecordDatabase
            switch configuration.location {
            case .sqlite(let path):
                database = try await SQLiteRecordDatabase.open(path: path, busyTimeout: configuration.operationTimeout, logger: logger)
            case .postgres(let url):
                database = await PostgresRecordDatabase.connect(url: try PostgresURL(url), operationTimeout: configuration.operationTimeout, logger: logger)
            }
            do {
                return try await RecordStore.open(database, defaultRetentionDays: configuration.defaultRetentionDays, logger: logger)
            } catch {
                await database.close()
                throw error
            }
        } catch {
            throw ConfigurationError(description: "the record database cannot be used: \(error)")
        }
    }
}
