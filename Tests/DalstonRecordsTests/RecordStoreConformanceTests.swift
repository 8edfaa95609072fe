import DalstonBroker
import DalstonCore
import DalstonPipeline
import DalstonRealtime
import DalstonSessionRouter
import DalstonTestSupport
import Foundation
import Testing
@testable import DalstonRecords

/// The record store's behaviour, the same on SQLite and on a real PostgreSQL server.
@Suite("Record store conformance (SQLite and PostgreSQL)")
struct RecordStoreConformanceTests {
    static let logger = TestDatabase.logger

    // MARK: Migrations

    @Test(arguments: RecordDatabaseKind.available)
    func migrationsRunOnceWhenManyProcessesStartTogetherAndAgainChangeNothing(kind: RecordDatabaseKind) async throws {
        let database = try await kind.makeEmpty()
        // Four handles, as four services starting at once would have. Each waits for the others'
        // migration transaction; on a CI machine whose two cores are busy with other suites one
        // such transaction took over 5 s, so the wait is as generous as a starved machine needs.
        let handles = try await withThrowingTaskGroup(of: (any RecordDatabase).self) { group in
            for _ in 0..<4 { group.addTask { try await database.open(timeout: .seconds(30)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for handle in handles { group.addTask { try await Migrator.migrate(handle, logger: Self.logger) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(applied.flatMap { $0 }.sorted() == SchemaMigration.all.map(\.version), "each step applied by exactly one of them")
        #expect(try await Migrator.migrate(handles[0], logger: Self.logger).isEmpty, "a second run applies nothing")
        let recorded = try await handles[0].query("SELECT version FROM schema_migrations ORDER BY version", []).compactMap { $0.optionalInt("version") }
        #expect(recorded == SchemaMigration.all.map(\.version))
        for handle in handles { await handle.close() }
    }

    @Test(arguments: RecordDatabaseKind.available)
    func aDatabaseMigratedByANewerBuildIsRefusedWithAClearMessage(kind: RecordDatabaseKind) async throws {
        let database = try await kind.makeEmpty()
        let handle = try await database.open()
        try await Migrator.migrate(handle, logger: Self.logger)
        try await handle.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [.integer(99), .text("future"), .text(RecordTime.now)])
        await #expect(throws: RecordStoreError.configuration(
            "the record database has schema version 99, newer than this build's \(SchemaMigration.all.count): run the newer Dalston, or another database")) {
            try await Migrator.migrate(handle, logger: Self.logger)
        }
        // The same version twice breaks a uniqueness rule: a conflict, not a generic failure.
        await #expect(throws: RecordStoreError.self) {
            do {
                try await handle.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [.integer(99), .text("again"), .text(RecordTime.now)])
            } catch let error as RecordStoreError {
                guard case .conflict = error else { Issue.record("expected a conflict, got \(error)"); return }
                throw error
            }
        }
        await handle.close()
    }

    // MARK: Jobs

    static func job(_ id: String, createdAt: Date, status: JobStatus = .pending) -> [String: String] {
        var record = JobRecord(id: id, status: status, requestID: "req_\(id)", createdAt: createdAt, filename: "\(id).wav")
        record.displayName = "name \(id)"
        return record.fields
    }

    @Test(arguments: RecordDatabaseKind.available)
    func aJobReadsBackExactlyAsSavedAndItsTasksAreRecorded(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let created = Date(timeIntervalSince1970: 1_764_600_000.123)
            var fields = Self.job("job-1", createdAt: created)
            fields["display_name"] = "quote \" backslash \\ newline \n unicode ü 🎙"
            try await store.jobs.save(fields)
            #expect(try await store.jobs.fields(of: "job-1") == fields)

            // The job finishes: its status changes and each task's outcome and timing is kept.
            fields[JobField.status] = JobStatus.completed.rawValue
            fields[JobField.completedAt] = Timestamp.string(created.addingTimeInterval(9))
            fields[JobField.task("transcribe", .status)] = TaskStatus.completed.rawValue
            fields[JobField.task("transcribe", .attempt)] = "2"
            fields[JobField.task("transcribe", .queuedAt)] = Timestamp.string(created.addingTimeInterval(1))
            fields[JobField.task("transcribe", .completedAt)] = Timestamp.string(created.addingTimeInterval(4.5))
            // The engine's report (the only place its outcome and worker are kept).
            let report = TaskReport(stage: "transcribe", attempt: 2, outcome: .succeeded(output: [:]), workerID: "engine-7")
            fields[JobField.task("transcribe", .report)] = String(
                decoding: try MessageCoding.encode(report.event(jobID: "job-1", taskID: "job-1_transcribe", metadata: [:])), as: UTF8.self)
            try await store.jobs.save(fields)
            #expect(try await store.jobs.fields(of: "job-1") == fields)
            let tasks = try await store.jobTable.tasks(of: "job-1")
            #expect(tasks.count == 1)
            #expect(tasks.first?.optionalString("status") == "completed")
            #expect(tasks.first?.optionalInt("attempt") == 2)
            #expect(tasks.first?.optionalString("worker_id") == "engine-7")
            #expect(abs((tasks.first?.optionalDouble("duration_seconds") ?? 0) - 3.5) < 0.002)
            #expect(try await store.jobs.fields(of: "missing") == nil)
        }
    }

    @Test(arguments: RecordDatabaseKind.available)
    func listingPagesNewestFirstWithoutGapsOrRepeatsAndFiltersByStatusAndAge(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let base = Date(timeIntervalSince1970: 1_764_600_000)
            // 25 jobs; pairs share a creation instant, so ties are ordered by id.
            for index in 0..<25 {
                let status: JobStatus = index % 3 == 0 ? .failed : .completed
                try await store.jobs.save(Self.job(String(format: "job-%02d", index), createdAt: base.addingTimeInterval(Double(index / 2)), status: status))
            }
            var seen: [String] = []
            var cursor: JobCursor?
            repeat {
                let page = try await store.jobs.list(JobListQuery(limit: 7, cursor: cursor), limit: 7).compactMap(JobRecord.init(fields:))
                seen += page.map(\.id)
                cursor = page.count == 7 ? page.last.map { JobCursor(score: $0.createdAt.timeIntervalSince1970, jobID: $0.id) } : nil
            } while cursor != nil
            #expect(seen == (0..<25).reversed().map { String(format: "job-%02d", $0) })

            let failed = try await store.jobs.list(JobListQuery(status: .failed), limit: 100).compactMap(JobRecord.init(fields:))
            #expect(failed.map(\.id) == stride(from: 24, through: 0, by: -3).map { String(format: "job-%02d", $0) })
            let recent = try await store.jobs.list(JobListQuery(since: base.addingTimeInterval(10)), limit: 100)
            #expect(recent.count == 5, "jobs 20-24 were created at or after +10 s")

            #expect(try await store.jobs.unfinished(createdBefore: base.addingTimeInterval(100), limit: 10).isEmpty)
            try await store.jobs.save(Self.job("job-running", createdAt: base, status: .running))
            #expect(try await store.jobs.unfinished(createdBefore: base.addingTimeInterval(1), limit: 10).compactMap { $0[JobField.id] } == ["job-running"])
            #expect(try await store.jobs.unfinished(createdBefore: base, limit: 10).isEmpty, "created at, not before")

            #expect(try await store.jobs.delete("job-03"))
            #expect(try await store.jobs.delete("job-03") == false)
            #expect(try await store.jobs.fields(of: "job-03") == nil)
            #expect(try await store.jobs.fields(of: "job-04") != nil, "nothing else is gone")
        }
    }

    @Test(arguments: RecordDatabaseKind.available)
    func concurrentWritersThroughSeveralHandlesLoseNothing(kind: RecordDatabaseKind) async throws {
        let database = try await kind.makeEmpty()
        let stores = [try await database.store(), try await database.store(), try await database.store()]
        let base = Date(timeIntervalSince1970: 1_764_600_000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<6 {
                let store = stores[writer % stores.count]
                group.addTask {
                    for index in 0..<30 {
                        let id = "w\(writer)-\(index)"
                        try await store.jobs.save(Self.job(id, createdAt: base.addingTimeInterval(Double(index))))
                        // And update one row that every writer also updates.
                        try await store.jobs.save(Self.job("shared", createdAt: base, status: index % 2 == 0 ? .running : .pending))
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = try await stores[0].jobs.list(JobListQuery(limit: 1000), limit: 1000)
        #expect(all.count == 6 * 30 + 1)
        #expect(Set(all.compactMap { $0[JobField.id] }).count == 6 * 30 + 1)
        for store in stores { await store.close() }
    }

    // MARK: API keys

    @Test(arguments: RecordDatabaseKind.available)
    func apiKeysAreStoredHashedAndRevokedOrExpiredKeysAreKnownAsSuch(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let now = Date()
            let created = try await store.apiKeys.create(name: "ci", scopes: [.jobsRead, .realtime], now: now)
            #expect(created.secret.hasPrefix("dk_") && created.secret.count == 43)
            #expect(created.key.prefix == String(created.secret.prefix(9)))

            // Nothing stored can be used as the key or turned back into it.
            let rows = try await store.database.query("SELECT * FROM api_keys", [])
            let stored = rows.flatMap { $0.columns.values }.compactMap { value -> String? in if case .text(let text) = value { text } else { nil } }
            #expect(!stored.contains { $0.contains(created.secret) || $0.contains(String(created.secret.dropFirst(9))) })
            #expect(rows.first?.optionalString("secret_hash") == APIKeyTable.hash(created.secret))

            let found = try #require(try await store.apiKeys.authenticate(created.secret, now: now))
            #expect(found.id == created.key.id && found.scopes == [.jobsRead, .realtime] && found.isValid(at: now))
            #expect(found.lastUsedAt != nil)
            #expect(try await store.apiKeys.authenticate("dk_" + String(repeating: "x", count: 40)) == nil)
            #expect(try await store.apiKeys.authenticate(String(created.secret.dropLast()) + "!") == nil)

            let revoked = try #require(try await store.apiKeys.revoke(created.key.prefix))
            #expect(revoked.revokedAt != nil && !revoked.isValid())
            #expect(try await store.apiKeys.authenticate(created.secret)?.isValid() == false)
            #expect(try await store.apiKeys.revoke("key_unknown") == nil)

            let expiring = try await store.apiKeys.create(name: "short", scopes: [.admin], expiresAt: now.addingTimeInterval(60), now: now)
            #expect(try await store.apiKeys.authenticate(expiring.secret, now: now)?.isValid(at: now) == true)
            #expect(try await store.apiKeys.authenticate(expiring.secret, now: now)?.isValid(at: now.addingTimeInterval(61)) == false)
            #expect(Set(try await store.apiKeys.list().map(\.name)) == ["short", "ci"])
        }
    }

    @Test(arguments: RecordDatabaseKind.available)
    func keysBelongToTenantsAndCarryTheirLimits(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let acme = try await store.apiKeys.create(APIKeyTerms(name: "acme", scopes: [.admin], tenantID: "acme", rateLimit: 10, maxConcurrentJobs: 2))
            let plain = try await store.apiKeys.create(name: "plain", scopes: [.jobsRead])
            let found = try #require(try await store.apiKeys.key(id: acme.key.id))
            #expect(found.tenantID == "acme" && found.rateLimit == 10 && found.maxConcurrentJobs == 2)
            #expect(try await store.apiKeys.key(id: plain.key.id)?.tenantID == JobTenancy.defaultTenant)
            #expect(try await store.apiKeys.key(id: plain.key.id)?.rateLimit == nil)
            #expect(try await store.apiKeys.list(tenantID: "acme").map(\.id) == [acme.key.id])
            _ = try await store.apiKeys.revoke(plain.key.id)
            #expect(try await store.apiKeys.list(tenantID: JobTenancy.defaultTenant, includeRevoked: false).isEmpty)
            #expect(try await store.apiKeys.list(tenantID: JobTenancy.defaultTenant).map(\.id) == [plain.key.id])
            await #expect(throws: RecordStoreError.self) { try await store.apiKeys.create(APIKeyTerms(name: "x", scopes: [.admin], tenantID: "a\nb")) }
        }
    }

    @Test(arguments: RecordDatabaseKind.available)
    func aSingleUseTokenIsSpentExactlyOnceAndOnlyItsHashIsStored(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let now = Date()
            let minted = try await store.sessionTokens.mint(
                for: (id: "key_1", tenantID: "acme"), scopes: [.realtime], kind: .singleUse, lifetime: 60, now: now)
            #expect(minted.secret.hasPrefix("tk_") && minted.token.expiresAt == now.addingTimeInterval(60))
            let rows = try await store.database.query("SELECT * FROM session_tokens", [])
            #expect(!rows.flatMap { $0.columns.values }.contains { if case .text(let text) = $0 { text.contains(minted.secret) } else { false } })
            let found = try #require(try await store.sessionTokens.find(minted.secret))
            #expect(found.keyID == "key_1" && found.tenantID == "acme" && found.scopes == [.realtime] && found.kind == .singleUse)
            #expect(try await store.sessionTokens.find("tk_" + String(repeating: "x", count: 40)) == nil)
            #expect(try await store.sessionTokens.find("dk_whatever") == nil)

            // Many gateways at once: exactly one spends it.
            let spent = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 { group.addTask { try await store.sessionTokens.consume(found) } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(spent == 1)
            #expect(try await store.sessionTokens.find(minted.secret)?.usedAt != nil)

            let expired = try await store.sessionTokens.mint(
                for: (id: "key_1", tenantID: "acme"), scopes: [.realtime], kind: .singleUse, lifetime: 1, now: now.addingTimeInterval(-90_000))
            #expect(try await !store.sessionTokens.consume(expired.token), "an expired token is not spent")
            #expect(try await store.sessionTokens.purgeExpired(now: now) == 1)
            #expect(try await store.sessionTokens.find(expired.secret) == nil)
            #expect(try await store.sessionTokens.find(minted.secret) != nil)
        }
    }

    // MARK: Realtime sessions

    @Test(arguments: RecordDatabaseKind.available)
    func sessionsReadBackWholeAndPageNewestFirst(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            let base = Date(timeIntervalSince1970: 1_764_600_000.25)
            for index in 1...6 {
                var record = RealtimeSessionRecord(
                    id: "sess_\(index)", protocolName: "native", language: "en", model: nil, requestID: "req_\(index)",
                    startedAt: base.addingTimeInterval(Double(index)))
                record.status = index % 2 == 1 ? "interrupted" : "completed"
                record.transcript = "hello \(index)"
                record.segments = [SessionSegment(start: 0.5, end: 1.25, text: "hello \(index)")]
                record.endedAt = record.startedAt.addingTimeInterval(3)
                try await store.sessions.save(record)
            }
            let six = try #require(try await store.sessions.record("sess_6"))
            #expect(six.transcript == "hello 6" && six.segments.count == 1 && six.requestID == "req_6")
            #expect(six.startedAt == base.addingTimeInterval(6))
            let page = try await store.sessions.list(limit: 3, before: nil, status: nil, tenantID: nil)
            #expect(page.map(\.id) == ["sess_6", "sess_5", "sess_4"])
            let next = try await store.sessions.list(limit: 3, before: page.last?.startedAt.timeIntervalSince1970, status: nil, tenantID: nil)
            #expect(next.map(\.id) == ["sess_3", "sess_2", "sess_1"])
            #expect(try await store.sessions.list(limit: 10, before: nil, status: "interrupted", tenantID: nil).map(\.id) == ["sess_5", "sess_3", "sess_1"])
            var updated = six
            updated.status = "error"
            try await store.sessions.save(updated)
            #expect(try await store.sessions.record("sess_6")?.status == "error")
            try await store.sessions.delete("sess_6")
            #expect(try await store.sessions.record("sess_6") == nil)
            #expect(try await store.sessions.record("sess_5") != nil)
        }
    }

    @Test(arguments: RecordDatabaseKind.available)
    func aSessionClosedAsLostNeverOverwritesOneThatEnded(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            try await Self.closingIsConditional(store.sessions)
        }
    }

    @Test func theStateStoresSessionsCloseConditionallyToo() async throws {
        try await Self.closingIsConditional(RealtimeSessionRecords(state: InMemoryBroker()))
    }

    /// The health loop's close applies only while the session is active.
    static func closingIsConditional(_ sessions: any RealtimeSessionArchive) async throws {
        let started = RealtimeSessionRecord(id: "sess_lost", protocolName: "native", language: "en", model: nil, requestID: "req_l")
        try await sessions.save(started)
        var lost = started
        lost.status = "error"
        lost.error = "gateway_lost"
        lost.endedAt = Date()
        #expect(try await sessions.saveIfActive(lost), "an active session is closed")
        #expect(try await sessions.record("sess_lost")?.error == "gateway_lost")
        var ended = RealtimeSessionRecord(id: "sess_done", protocolName: "native", language: "en", model: nil, requestID: "req_d")
        try await sessions.save(ended)
        ended.status = "completed"
        ended.transcript = "hello world"
        try await sessions.save(ended)
        var late = ended
        late.status = "error"
        late.error = "gateway_lost"
        #expect(try await !sessions.saveIfActive(late), "a session its relay ended is left as it ended")
        let kept = try await sessions.record("sess_done")
        #expect(kept?.status == "completed" && kept?.transcript == "hello world" && kept?.error == nil)
    }

    // MARK: Audit log

    @Test(arguments: RecordDatabaseKind.available)
    func theAuditLogKeepsEveryEntryInOrder(kind: RecordDatabaseKind) async throws {
        try await withStore(try await kind.makeEmpty().store()) { store in
            for index in 0..<5 {
                try await store.audit.record(AuditEntry(actor: "key_\(index % 2)", action: "job.deleted", resourceType: "job", resourceID: "job-\(index % 2)", requestID: "req_\(index)"))
            }
            let all = try await store.audit.entries()
            #expect(all.map(\.requestID) == (0..<5).map { "req_\($0)" })
            let one = try await store.audit.entries(resourceType: "job", resourceID: "job-1")
            #expect(one.map(\.requestID) == ["req_1", "req_3"])
        }
    }
}

/// A database that stops answering makes calls fail within their deadline, and the store works
/// again once it is back.
@Suite("Record store: PostgreSQL down", .enabled(if: PostgresServerProcess.shouldRun, "\(PostgresServerProcess.skipReason)"))
struct RecordStorePostgresOutageTests {
    @Test func callsFailQuicklyWhileTheServerIsDownAndSucceedWhenItIsBack() async throws {
        let server = try await PostgresServerProcess()
        let database = TestDatabase(kind: .postgres, location: try await server.createDatabase())
        // Set up with a lenient deadline (a loaded CI machine starts PostgreSQL slowly), then
        // measure with a short one.
        let setup = try await RecordStore.open(try await database.open(timeout: .seconds(60)), logger: TestDatabase.logger)
        try await setup.jobs.save(RecordStoreConformanceTests.job("before", createdAt: Date()))
        await setup.close()
        let store = try await RecordStore.open(try await database.open(timeout: .seconds(4)), logger: TestDatabase.logger)
        await server.stop()
        for attempt in 0..<3 {
            let start = ContinuousClock.now
            await #expect(throws: RecordStoreError.self) { try await store.jobs.save(RecordStoreConformanceTests.job("down-\(attempt)", createdAt: Date())) }
            // The 4 s deadline, and a margin for a CI machine that stalls for seconds.
            #expect(ContinuousClock.now - start < .seconds(12), "failed within the deadline")
        }
        #expect(await store.health().reachable == false)
        try await server.start()
        #expect(await eventually(timeout: .seconds(30)) { (try? await store.jobs.save(RecordStoreConformanceTests.job("after", createdAt: Date()))) != nil })
        #expect(try await store.jobs.fields(of: "before") != nil)
        #expect(try await store.jobs.fields(of: "after") != nil)
        await store.close()
    }
}
