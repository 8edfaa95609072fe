import DalstonBroker
import DalstonEngineSDK
import DalstonOrchestrator
import DalstonRecords
import ServiceLifecycle

/// The orchestrator as a lifecycle service: stops on graceful shutdown.
struct OrchestratorService: Service {
    let orchestrator: Orchestrator

    func run() async throws {
        await cancelWhenGracefulShutdown { await orchestrator.run() }
    }
}

/// An engine runner as a lifecycle service: on graceful shutdown it finishes (or requeues) the
/// task in hand, then stops.
struct EngineService: Service {
    let runner: EngineRunner

    func run() async throws {
        await cancelWhenGracefulShutdown { await runner.run() }
    }
}

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
