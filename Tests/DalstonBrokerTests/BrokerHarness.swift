import DalstonBroker
import DalstonRedis
import DalstonTestSupport
import Foundation

/// The broker implementations the conformance suite runs against.
enum BrokerKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case inMemory = "in-memory"
    case redis

    var description: String { rawValue }

    /// In-memory always; Redis when redis-server is installed, and always under `make test` and CI (where a
    /// missing server then fails the tests instead of skipping them).
    static var available: [BrokerKind] {
        if RedisServerProcess.shouldRun { return allCases }
        FileHandle.standardError.write(Data("note: Redis broker conformance cases skipped: \(RedisServerProcess.skipReason)\n".utf8))
        return [.inMemory]
    }
}

/// One broker under test, with the server it needs kept alive.
struct BrokerHarness: Sendable {
    let broker: any Broker
    let server: RedisServerProcess?
    let enqueueRaw: @Sendable ([UInt8], String) async throws -> Void

    static func make(_ kind: BrokerKind, configure: (inout BrokerOptions) -> Void = { _ in }) async throws -> BrokerHarness {
        var options = BrokerOptions()
        options.visibilityTimeout = .seconds(30)
        configure(&options)
        switch kind {
        case .inMemory:
            let broker = InMemoryBroker(options: options)
            return BrokerHarness(broker: broker, server: nil) { try await broker.enqueueRawPayload($0, engine: $1) }
        case .redis:
            let server = try await RedisServerProcess()
            let broker = RedisBroker(client: RedisClient(configuration: server.configuration), options: options)
            return BrokerHarness(broker: broker, server: server) { try await broker.enqueueRawPayload($0, engine: $1) }
        }
    }
}

extension BrokerHarness {
    /// Runs `body` with a fresh broker of `kind` and shuts the broker down afterwards, awaited.
    static func with(
        _ kind: BrokerKind, configure: (inout BrokerOptions) -> Void = { _ in }, _ body: (any Broker) async throws -> Void
    ) async throws {
        let harness = try await make(kind, configure: configure)
        try await withTeardown({ await harness.broker.shutdown() }) {
            try await body(harness.broker)
        }
    }
}

func task(_ number: Int, engine: String = "transcribe", requestID: String = "req_test") -> TaskEnvelope {
    TaskEnvelope(
        taskID: "task_\(number)", jobID: "job_\(number / 10)", engineID: engine, stage: "transcribe",
        input: ["audio_path": .string("/data/\(number).wav"), "language": "en", "sample_rate": 16000],
        metadata: ["request_id": requestID, "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"])
}

/// The envelope as the broker stores it: everything but the broker's own timestamp.
func withoutTimestamp(_ envelope: TaskEnvelope) -> TaskEnvelope {
    var copy = envelope
    copy.enqueuedAt = nil
    return copy
}
