import DalstonBroker
import DalstonTestSupport
import Foundation
import Testing

/// The semantics every broker must have; run against each implementation.
@Suite("Task queue conformance (Redis and in memory)")
struct TaskQueueConformanceTests {
    @Test(arguments: BrokerKind.available)
    func enqueueReceiveAcknowledgeInOrder(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind) { broker in
            for number in 1...3 { try await broker.enqueue(task(number)) }
            var stats = try await broker.queueStats(engine: "transcribe")
            #expect(stats.waiting == 3 && stats.inFlight == 0)
            #expect(stats.oldestAge != nil)

            let first = try #require(try await broker.receive(engine: "transcribe", consumer: "w1", waitUpTo: .seconds(10)))
            #expect(withoutTimestamp(first.envelope) == task(1))
            #expect(first.envelope.metadata["request_id"] == "req_test")
            #expect(first.envelope.metadata["traceparent"]?.hasPrefix("00-4bf92f35") == true)
            #expect(first.deliveryCount == 1)
            #expect((first.queueWait ?? -1) >= 0)
            stats = try await broker.queueStats(engine: "transcribe")
            #expect(stats.waiting == 2 && stats.inFlight == 1)

            try await broker.acknowledge(first)
            let second = try #require(try await broker.receive(engine: "transcribe", consumer: "w1", waitUpTo: .seconds(10)))
            let third = try #require(try await broker.receive(engine: "transcribe", consumer: "w2", waitUpTo: .seconds(10)))
            #expect([second.envelope.taskID, third.envelope.taskID] == ["task_2", "task_3"])
            try await broker.acknowledge(second)
            try await broker.acknowledge(third)
            stats = try await broker.queueStats(engine: "transcribe")
            #expect(stats == QueueStats(waiting: 0, inFlight: 0, deadLettered: 0, oldestAge: nil))
            await #expect(throws: BrokerError.unknownDelivery(third.receipt)) { try await broker.acknowledge(third) }
            #expect(try await broker.knownEngines() == ["transcribe"])
        }
    }

    @Test(arguments: BrokerKind.available)
    func anEmptyQueueTimesOutAndAWaitingReceiverWakesOnEnqueue(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind) { broker in
            var start = ContinuousClock.now
            #expect(try await broker.receive(engine: "merge", consumer: "w", waitUpTo: .milliseconds(300)) == nil)
            let waited = ContinuousClock.now - start
            #expect(waited >= .milliseconds(250) && waited < .seconds(60), "timed out rather than hanging (the bound allows for CI, where the test process's two pool threads can be held for over 10 s)")

            let receiver = Task { try await broker.receive(engine: "merge", consumer: "w", waitUpTo: .seconds(60)) }
            try await Task.sleep(for: .milliseconds(150))
            start = ContinuousClock.now
            try await broker.enqueue(task(7, engine: "merge"))
            let received = try await receiver.value
            #expect(received?.envelope.taskID == "task_7")
            #expect(ContinuousClock.now - start < .seconds(30), "woken by the enqueue, well before its own 60 s wait")
        }
    }

    @Test(arguments: BrokerKind.available)
    func cancellingAWaitingReceiverReturnsPromptly(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind) { broker in
            let receiver = Task { try await broker.receive(engine: "idle", consumer: "w", waitUpTo: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(200))
            let start = ContinuousClock.now
            receiver.cancel()
            let result = try await receiver.value
            #expect(result == nil)
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    @Test(arguments: BrokerKind.available)
    func aTaskNeverAcknowledgedIsRedeliveredToAnotherWorker(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind, configure: { $0.visibilityTimeout = .milliseconds(300) }) { broker in
            try await broker.enqueue(task(1))
            let lost = try #require(try await broker.receive(engine: "transcribe", consumer: "dies", waitUpTo: .seconds(10)))
            // The worker "dies": it never acknowledges.
            let redelivered = try #require(try await broker.receive(engine: "transcribe", consumer: "survivor", waitUpTo: .seconds(15)))
            #expect(redelivered.envelope.taskID == lost.envelope.taskID)
            #expect(redelivered.deliveryCount == 2)
            try await broker.acknowledge(redelivered)
            #expect(try await broker.queueStats(engine: "transcribe").inFlight == 0)
        }
    }

    @Test(arguments: BrokerKind.available)
    func renewingTheLeaseKeepsALongTaskFromBeingRedelivered(kind: BrokerKind) async throws {
        // Only a receive can take an expired task, and none runs until after the renewal, so a
        // late renewal (a starved CI machine) still counts: the check asks, after the original
        // lease ran out, whether the renewed one still holds.
        // The renewal comes late in the first lease and the check soon after the lease would have
        // run out, so a stall of up to 5 s between them cannot outlast the renewed lease.
        try await BrokerHarness.with(kind, configure: { $0.visibilityTimeout = .seconds(6) }) { broker in
            try await broker.enqueue(task(1))
            let held = try #require(try await broker.receive(engine: "transcribe", consumer: "slow", waitUpTo: .seconds(10)))
            let received = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(5500))
            try await broker.renewLease(held)
            try await Task.sleep(for: .seconds(1))
            #expect(ContinuousClock.now - received > .seconds(6), "the original lease has run out")
            #expect(try await broker.receive(engine: "transcribe", consumer: "other", waitUpTo: .milliseconds(200)) == nil,
                    "the renewed lease still holds")
            // Still this worker's delivery: its settling transition (what engines do) applies.
            let settled = try await broker.transition(StateTransition(.job(held.envelope.jobID), set: ["task.transcribe.report": "done"], effects: [.acknowledge(held)]))
            #expect(settled.applied, "a renewed delivery stays with its worker")
            #expect(try await broker.queueStats(engine: "transcribe").inFlight == 0)
        }
    }

    @Test(arguments: BrokerKind.available)
    func aTaskThatKeepsFailingIsDeadLetteredAfterTheMaximumDeliveries(kind: BrokerKind) async throws {
        let harness = try await BrokerHarness.make(kind) {
            $0.visibilityTimeout = .milliseconds(200)
            $0.maximumDeliveries = 2
        }
        let broker = harness.broker
        try await withTeardown({ await broker.shutdown() }) {
            try await broker.enqueue(task(1))
            for delivery in 1...2 {
                let received = try #require(try await broker.receive(engine: "transcribe", consumer: "crash\(delivery)", waitUpTo: .seconds(15)))
                #expect(received.deliveryCount == delivery)
            }
            #expect(try await broker.receive(engine: "transcribe", consumer: "w", waitUpTo: .seconds(1)) == nil)
            let letters = try await broker.deadLetters(engine: "transcribe", limit: 10)
            #expect(letters.count == 1)
            #expect(letters.first?.reason.contains("not acknowledged after 2 deliveries") == true)
            #expect(letters.first?.envelope?.taskID == "task_1")
            #expect(try await broker.queueStats(engine: "transcribe") == QueueStats(waiting: 0, inFlight: 0, deadLettered: 1, oldestAge: nil))
        }
    }

    @Test(arguments: BrokerKind.available)
    func poisonMessagesAreDeadLetteredAndTheQueueKeepsFlowing(kind: BrokerKind) async throws {
        let harness = try await BrokerHarness.make(kind)
        let broker = harness.broker
        try await withTeardown({ await broker.shutdown() }) {
            try await harness.enqueueRaw(Array("{not json".utf8), "transcribe")
            var future = try JSONSerialization.jsonObject(with: Data(MessageCoding.encode(task(9)))) as? [String: Any] ?? [:]
            future["version"] = 99
            try await harness.enqueueRaw(Array(try JSONSerialization.data(withJSONObject: future)), "transcribe")
            try await harness.enqueueRaw([0xFF, 0x00, 0x0A], "transcribe")
            try await broker.enqueue(task(1))

            let received = try #require(try await broker.receive(engine: "transcribe", consumer: "w", waitUpTo: .seconds(15)))
            #expect(received.envelope.taskID == "task_1")
            try await broker.acknowledge(received)
            let letters = try await broker.deadLetters(engine: "transcribe", limit: 10)
            #expect(letters.count == 3)
            #expect(letters[0].payload == Array("{not json".utf8))
            #expect(letters[0].reason.contains("undecodable"))
            #expect(letters[1].reason.contains("unsupported task envelope version 99"))
            #expect(letters[2].payload == [0xFF, 0x00, 0x0A])
            #expect(try await broker.queueStats(engine: "transcribe").deadLettered == 3)
        }
    }

    @Test(arguments: BrokerKind.available)
    func requeueAndExplicitDeadLetter(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind) { broker in
            try await broker.enqueue(task(1))
            try await broker.enqueue(task(2))
            let first = try #require(try await broker.receive(engine: "transcribe", consumer: "stopping", waitUpTo: .seconds(10)))
            try await broker.requeue(first)
            await #expect(throws: BrokerError.unknownDelivery(first.receipt)) { try await broker.acknowledge(first) }
            let second = try #require(try await broker.receive(engine: "transcribe", consumer: "w", waitUpTo: .seconds(10)))
            let again = try #require(try await broker.receive(engine: "transcribe", consumer: "w", waitUpTo: .seconds(10)))
            #expect(Set([second.envelope.taskID, again.envelope.taskID]) == ["task_1", "task_2"])
            #expect(again.deliveryCount == 1 && second.deliveryCount == 1)
            try await broker.acknowledge(second)
            try await broker.deadLetter(again, reason: "engine error: unsupported audio format")
            let letter = try #require(try await broker.deadLetters(engine: "transcribe", limit: 5).first)
            #expect(letter.reason == "engine error: unsupported audio format")
            #expect(letter.envelope.map(withoutTimestamp) == withoutTimestamp(again.envelope))
        }
    }

    @Test(arguments: BrokerKind.available)
    func manyWorkersProcessEveryTaskExactlyOnce(kind: BrokerKind) async throws {
        let harness = try await BrokerHarness.make(kind)
        let broker = harness.broker
        try await withTeardown({ await broker.shutdown() }) {
            let total = 200
            for number in 0..<total { try await broker.enqueue(task(number)) }
            let processed = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [String] = []
                        while let received = try await broker.receive(engine: "transcribe", consumer: "w\(worker)", waitUpTo: .milliseconds(300)) {
                            mine.append(received.envelope.taskID)
                            try await broker.acknowledge(received)
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(processed.count == total)
            #expect(Set(processed) == Set((0..<total).map { "task_\($0)" }))
        }
    }
}
