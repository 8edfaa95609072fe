import DalstonBroker
import DalstonTestSupport
import Foundation
import Testing

/// The semantics every state store must have; run against each implementation.
@Suite("State store conformance (Redis and in memory)")
struct StateStoreConformanceTests {
    @Test(arguments: BrokerKind.available)
    func recordsAndIndexes(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind) { broker in
            try await broker.saveRecord(.job("job_1"), fields: ["status": "pending", "request_id": "req_1"])
            try await broker.saveRecord(.job("job_1"), fields: ["status": "running"])
            #expect(try await broker.record(.job("job_1")) == ["status": "running", "request_id": "req_1"])
            try await broker.deleteRecord(.job("job_1"))
            #expect(try await broker.record(.job("job_1")) == [:])

            for (index, id) in ["job_a", "job_b", "job_c"].enumerated() {
                _ = try await broker.transition(StateTransition(.job(id), effects: [.addToIndex("jobs", member: id, score: Double(index))]))
            }
            #expect(try await broker.indexMembers("jobs", limit: 2) == ["job_c", "job_b"])
            #expect(try await broker.indexMembers("jobs", limit: 5, maximumScore: 1) == ["job_b", "job_a"], "a page below a score")
            try await broker.removeFromIndex("jobs", member: "job_c")
            #expect(try await broker.indexMembers("jobs", limit: 5) == ["job_b", "job_a"])
            #expect(try await broker.indexCount("jobs") == 2)
            #expect(try await broker.indexCount("no_such_index") == 0)
        }
    }

    @Test(arguments: BrokerKind.available)
    func aTransitionAppliesOnlyWhenItsConditionsHoldAndThenDoesEverythingItSays(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind) { broker in
            let events = broker.events()
            #expect(await events.waitUntilReady(timeout: .seconds(30)))
            let created = EventEnvelope(type: "job_created", jobID: "job_t", metadata: ["request_id": "req_t"])
            // "" means absent: create only if there is no record yet.
            let create = StateTransition(
                .job("job_t"), when: ["status": [""]], set: ["status": "pending", "id": "job_t"],
                effects: [.addToIndex("active", member: "job_t", score: 1), .publish(created)])
            #expect(try await broker.transition(create).applied)
            #expect(try await !broker.transition(create).applied, "a second create does nothing")
            #expect(try await broker.indexCount("active") == 1)
            var iterator = events.makeAsyncIterator()
            #expect(await iterator.next()?.type == "job_created")

            let schedule = StateTransition(
                .job("job_t"), when: ["status": ["pending", "running"], "task.prepare.status": ["", "waiting"]],
                set: ["status": "running", "task.prepare.status": "queued"],
                effects: [.enqueue(task(1, engine: "audio-prepare"))], returnsRecord: true)
            let scheduled = try await broker.transition(schedule)
            #expect(scheduled.applied)
            #expect(scheduled.record["task.prepare.status"] == "queued" && scheduled.record["id"] == "job_t")
            let again = try await broker.transition(schedule)
            #expect(!again.applied && again.record["status"] == "running", "not applied, and the record as it is")
            #expect(try await broker.queueStats(engine: "audio-prepare").waiting == 1, "the enqueue happened once")

            let finish = StateTransition(
                .job("job_t"), when: ["status": ["pending", "running"]], set: ["status": "completed"],
                effects: [.removeFromIndex("active", member: "job_t")])
            #expect(try await broker.transition(finish).applied)
            #expect(try await broker.indexCount("active") == 0)
            #expect(try await broker.record(.job("job_t"))["status"] == "completed")
        }
    }

    @Test(arguments: BrokerKind.available)
    func ofManyConcurrentIdenticalTransitionsExactlyOneApplies(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind) { broker in
            for job in 0..<10 {
                try await broker.saveRecord(.job("job_\(job)"), fields: ["status": "running"])
            }
            let applied = try await withThrowingTaskGroup(of: Bool.self) { group in
                for job in 0..<10 {
                    for _ in 0..<6 {
                        group.addTask {
                            try await broker.transition(StateTransition(
                                .job("job_\(job)"), when: ["task.transcribe.status": ["", "waiting"]], set: ["task.transcribe.status": "queued"],
                                effects: [.enqueue(task(job * 10))])).applied
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(applied == 10, "one per job")
            #expect(try await broker.queueStats(engine: "transcribe").waiting == 10, "each task enqueued exactly once")
        }
    }

    @Test(arguments: BrokerKind.available)
    func anAcknowledgementEffectSettlesTheDeliveryOrStopsTheTransition(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind, configure: { $0.visibilityTimeout = .milliseconds(400) }) { broker in
            try await broker.enqueue(task(7))
            let first = try #require(try await broker.receive(engine: "transcribe", consumer: "w1", waitUpTo: .seconds(15)))
            let outcome = EventEnvelope(type: "task_completed", jobID: first.envelope.jobID, taskID: first.envelope.taskID)
            let settle = StateTransition(.job(first.envelope.jobID), set: ["task.transcribe.report": "done"], effects: [.acknowledge(first), .publish(outcome)])
            #expect(try await broker.transition(settle).applied)
            #expect(try await broker.record(.job(first.envelope.jobID))["task.transcribe.report"] == "done")
            #expect(try await broker.queueStats(engine: "transcribe") == QueueStats(waiting: 0, inFlight: 0, deadLettered: 0, oldestAge: nil))

            // A delivery that is no longer ours (redelivered after its lease ran out): nothing is
            // written, nothing published, and the new holder keeps it.
            try await broker.enqueue(task(8))
            let stale = try #require(try await broker.receive(engine: "transcribe", consumer: "w1", waitUpTo: .seconds(15)))
            let redelivered = try #require(try await broker.receive(engine: "transcribe", consumer: "w2", waitUpTo: .seconds(10)))
            #expect(redelivered.deliveryCount == 2)
            let late = StateTransition(.job(stale.envelope.jobID), set: ["task.transcribe.report": "late"], effects: [.acknowledge(stale)])
            #expect(try await !broker.transition(late).applied)
            #expect(try await broker.record(.job(stale.envelope.jobID))["task.transcribe.report"] != "late")
            try await broker.acknowledge(redelivered)
        }
    }
}

@Suite("Worker registry conformance (Redis and in memory)")
struct WorkerRegistryConformanceTests {
    @Test(arguments: BrokerKind.available)
    func onlyWorkersWithARecentHeartbeatAreAlive(kind: BrokerKind) async throws {
        // Generous bounds: a starved CI machine may pause for seconds between the calls.
        try await BrokerHarness.with(kind, configure: { $0.workerTimeout = .seconds(60) }) { broker in
            try await broker.heartbeat(WorkerHeartbeat(workerID: "w-live", engineID: "transcribe", status: "busy", currentTaskID: "task_1"))
            try await broker.heartbeat(WorkerHeartbeat(workerID: "w-stale", engineID: "merge", status: "idle", lastSeen: Date().addingTimeInterval(-300)))
            let live = try await broker.liveWorkers()
            #expect(live.map(\.workerID) == ["w-live"])
            #expect(live.first?.currentTaskID == "task_1")
        }
    }
}
