import DalstonBroker
import DalstonRedis
import DalstonSessionRouter
import DalstonTestSupport
import Foundation
import Testing

enum RouterStoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case inMemory = "in-memory"
    case redis

    var description: String { rawValue }

    static var available: [RouterStoreKind] { RedisServerProcess.shouldRun ? allCases : [.inMemory] }

    /// A fresh store (and the Redis server behind it, kept alive by the caller).
    func make() async throws -> (any SessionRouterStore, RedisServerProcess?) {
        switch self {
        case .inMemory: return (InMemorySessionRouterStore(), nil)
        case .redis:
            let server = try await RedisServerProcess()
            return (RedisSessionRouterStore(client: RedisClient(configuration: server.configuration)), server)
        }
    }
}

@Suite("Session router stores")
struct SessionRouterStoreTests {
    func worker(_ id: String, capacity: Int, heartbeat: Date = Date(), status: String = "ready", models: [String] = []) -> RealtimeWorkerInfo {
        RealtimeWorkerInfo(workerID: id, endpoint: "ws://127.0.0.1:1/\(id)", capacity: capacity, status: status, lastHeartbeat: heartbeat, models: models)
    }

    func allocate(
        _ store: any SessionRouterStore, _ session: String, key: String = "k", limit: Int = 0, model: String = "", excluding: Set<String> = []
    ) async throws -> AllocationOutcome {
        try await store.allocate(sessionID: session, clientKey: key, keyLimit: limit, model: model, excluding: excluding, now: Date(), staleAfter: 15, lease: 60)
    }

    @Test(arguments: RouterStoreKind.available)
    func aSessionGoesOnlyToAWorkerThatStreamsItsModel(_ kind: RouterStoreKind) async throws {
        let (store, server) = try await kind.make()
        defer { server?.kill() }
        // The roomier worker streams only PocketSphinx; a slash in a model id survives the JSON.
        try await store.announce(worker("sphinx", capacity: 5, models: ["pocketsphinx-en-us"]))
        try await store.announce(worker("whisper", capacity: 1, models: ["faster-whisper-tiny.en", "Systran/faster-whisper-small"]))
        guard case .allocated(let first) = try await allocate(store, "w1", model: "Systran/faster-whisper-small") else {
            Issue.record("no worker was found for a model one of them streams")
            return
        }
        #expect(first.workerID == "whisper")
        #expect(try await allocate(store, "w2", model: "faster-whisper-tiny.en") == .noCapacity, "the PocketSphinx worker's free slots do not count")
        guard case .allocated(let any) = try await allocate(store, "any") else {
            Issue.record("a session naming no model was not placed")
            return
        }
        #expect(any.workerID == "sphinx")
        #expect(try await allocate(store, "none", model: "faster-whisper-large-v3") == .noCapacity)
    }

    @Test(arguments: RouterStoreKind.available)
    func theLeastLoadedHealthyWorkerGetsEachSession(_ kind: RouterStoreKind) async throws {
        let (store, server) = try await kind.make()
        defer { server?.kill() }
        try await store.announce(worker("a", capacity: 2))
        try await store.announce(worker("b", capacity: 3))
        try await store.announce(worker("stale", capacity: 10, heartbeat: Date().addingTimeInterval(-60)))
        try await store.announce(worker("leaving", capacity: 10, status: "draining"))
        var placed: [String] = []
        for index in 0..<5 {
            guard case .allocated(let allocation) = try await allocate(store, "s\(index)") else {
                Issue.record("session \(index) was not placed")
                return
            }
            placed.append(allocation.workerID)
        }
        #expect(placed.first == "b", "most free slots first")
        #expect(placed.filter { $0 == "a" }.count == 2)
        #expect(placed.filter { $0 == "b" }.count == 3)
        #expect(try await allocate(store, "s5") == .noCapacity)
        #expect(try await store.release(sessionID: "s0"))
        #expect(try await store.release(sessionID: "s0") == false, "release is idempotent")
        guard case .allocated(let again) = try await allocate(store, "s6") else {
            Issue.record("a released slot was not reused")
            return
        }
        #expect(again.workerID == "b")
        #expect(try await allocate(store, "s7") == .noCapacity)
        let reserved = try await store.workers().reduce(into: [String: Int]()) { $0[$1.workerID] = $1.reserved }
        #expect(reserved["a"] == 2 && reserved["b"] == 3 && reserved["stale"] == 0)
    }

    @Test(arguments: RouterStoreKind.available)
    func concurrentAllocationsNeverOvercommit(_ kind: RouterStoreKind) async throws {
        let (store, server) = try await kind.make()
        defer { server?.kill() }
        try await store.announce(worker("a", capacity: 4))
        try await store.announce(worker("b", capacity: 6))
        let outcomes = try await withThrowingTaskGroup(of: AllocationOutcome.self) { group in
            for index in 0..<60 { group.addTask { try await allocate(store, "c\(index)", key: "k\(index % 7)") } }
            return try await group.reduce(into: [AllocationOutcome]()) { $0.append($1) }
        }
        let placed = outcomes.compactMap { if case .allocated(let allocation) = $0 { allocation.workerID } else { nil } }
        #expect(placed.count == 10)
        #expect(placed.filter { $0 == "a" }.count == 4)
        #expect(outcomes.filter { $0 == .noCapacity }.count == 50)
    }

    @Test(arguments: RouterStoreKind.available)
    func aKeyHasAtMostItsLimitOfSessions(_ kind: RouterStoreKind) async throws {
        let (store, server) = try await kind.make()
        defer { server?.kill() }
        try await store.announce(worker("a", capacity: 20))
        let outcomes = try await withThrowingTaskGroup(of: AllocationOutcome.self) { group in
            for index in 0..<12 { group.addTask { try await allocate(store, "k\(index)", key: "key_1", limit: 3) } }
            return try await group.reduce(into: [AllocationOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.filter { if case .allocated = $0 { true } else { false } }.count == 3)
        #expect(outcomes.filter { $0 == .keyLimitReached(limit: 3) }.count == 9)
        #expect(try await allocate(store, "other", key: "key_2", limit: 3) != .keyLimitReached(limit: 3), "another key is not limited")
        let first = outcomes.compactMap { if case .allocated(let allocation) = $0 { allocation.sessionID } else { nil } }[0]
        try await store.release(sessionID: first)
        guard case .allocated = try await allocate(store, "after", key: "key_1", limit: 3) else {
            Issue.record("a released session did not free the key's slot")
            return
        }
    }

    @Test(arguments: RouterStoreKind.available)
    func excludedAndOfflineWorkersAreSkipped(_ kind: RouterStoreKind) async throws {
        let (store, server) = try await kind.make()
        defer { server?.kill() }
        try await store.announce(worker("a", capacity: 5))
        try await store.announce(worker("b", capacity: 1))
        guard case .allocated(let allocation) = try await allocate(store, "x", excluding: ["a"]) else {
            Issue.record("b was not chosen")
            return
        }
        #expect(allocation.workerID == "b")
        try await store.markOffline(workerID: "a")
        #expect(try await allocate(store, "y") == .noCapacity)
        // A heartbeat brings it back.
        try await store.announce(worker("a", capacity: 5))
        guard case .allocated = try await allocate(store, "z") else {
            Issue.record("a was not back after its heartbeat")
            return
        }
    }

    @Test(arguments: RouterStoreKind.available)
    func reconcilingReleasesExpiredLeasesAndMarksSilentWorkersOffline(_ kind: RouterStoreKind) async throws {
        let (store, server) = try await kind.make()
        defer { server?.kill() }
        try await store.announce(worker("a", capacity: 2))
        _ = try await store.allocate(sessionID: "short", clientKey: "k", keyLimit: 1, model: "", excluding: [], now: Date(), staleAfter: 15, lease: 0.2)
        _ = try await store.allocate(sessionID: "kept", clientKey: "j", keyLimit: 1, model: "", excluding: [], now: Date(), staleAfter: 15, lease: 60)
        try await Task.sleep(for: .milliseconds(400))
        let report = try await store.reconcile(now: Date(), staleAfter: 15)
        #expect(report.releasedSessions == ["short"])
        #expect(try await store.workers().first?.reserved == 1)
        #expect(try await allocate(store, "again", key: "k", limit: 1) != .keyLimitReached(limit: 1), "the key's count was given back too")
        let later = try await store.reconcile(now: Date().addingTimeInterval(30), staleAfter: 15)
        #expect(later.workersMarkedOffline == ["a"])
        #expect(try await store.workers().first?.status == "offline")
        _ = try await store.reconcile(now: Date().addingTimeInterval(300), staleAfter: 15)
        #expect(try await store.workers().isEmpty, "a worker silent for ten timeouts is forgotten")
    }
}

@Suite("Realtime session records")
struct RealtimeSessionRecordsTests {
    @Test func recordsAreListedNewestFirstPagedAndDeleted() async throws {
        let records = RealtimeSessionRecords(state: InMemoryBroker())
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for index in 0..<7 {
            var record = RealtimeSessionRecord(id: "sess_\(index)", protocolName: "native", language: "en", model: nil, requestID: "req_\(index)",
                                               startedAt: start.addingTimeInterval(Double(index)))
            record.status = index % 2 == 0 ? "completed" : "interrupted"
            try await records.save(record)
        }
        let page = try await records.list(limit: 3)
        #expect(page.map(\.id) == ["sess_6", "sess_5", "sess_4"])
        let next = try await records.list(limit: 3, before: page.last?.startedAt.timeIntervalSince1970)
        #expect(next.map(\.id) == ["sess_3", "sess_2", "sess_1"])
        #expect(try await records.list(limit: 10, status: "interrupted").map(\.id) == ["sess_5", "sess_3", "sess_1"])
        try await records.delete("sess_6")
        #expect(try await records.record("sess_6") == nil)
        #expect(try await records.record("sess_5")?.requestID == "req_5")
    }
}
