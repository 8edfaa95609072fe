import DalstonBroker
import DalstonRecords
import ServiceLifecycle

/// Closes the broker's connections after everything else has stopped.
struct BrokerShutdownService: Service {
    let broker: any Broker

    func run() async throws {
        try? await gracefulShutdown()
        await broker.shutdown()
    }
}

/// Closes the record database after the services that use it have stopped.
struct RecordStoreShutdownService: Service {
    let records: RecordStore

    func run() async throws {
        try? await gracefulShutdown()
        await records.close()
    }
}
