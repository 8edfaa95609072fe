import DalstonBroker
import DalstonTestSupport
import Foundation
import Testing

/// The semantics every broker must have; run against each implementation.
@Suite("Event bus conformance (Redis and in memory)")
struct EventBusConformanceTests {
    @Test(arguments: BrokerKind.available)
    func eventsReachEverySubscriberInOrder(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind) { broker in
            let first = broker.events()
            let second = broker.events()
            #expect(await first.waitUntilReady(timeout: .seconds(30)))
            #expect(await second.waitUntilReady(timeout: .seconds(30)))
            let types = ["job_created", "task_completed", "job_completed"]
            for type in types {
                try await broker.publish(EventEnvelope(type: type, jobID: "job_1", data: ["progress": 50], metadata: ["request_id": "req_ev"]))
            }
            for stream in [first, second] {
                var received: [EventEnvelope] = []
                for await event in stream {
                    received.append(event)
                    if received.count == types.count { break }
                }
                #expect(received.map(\.type) == types)
                #expect(received.allSatisfy { $0.metadata["request_id"] == "req_ev" && $0.jobID == "job_1" && $0.data["progress"] == 50 })
            }
        }
    }
}
