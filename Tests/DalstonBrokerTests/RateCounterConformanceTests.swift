import DalstonBroker
import DalstonTestSupport
import Foundation
import Testing

/// What the gateway's per-key limits rely on: one count per name and window, however many
/// callers hit it at once, starting again once the window ends.
@Suite("Rate counter conformance (Redis and in memory)")
struct RateCounterConformanceTests {
    @Test(arguments: BrokerKind.available)
    func concurrentHitsAreEachCountedOnceAndTheWindowStartsAgain(kind: BrokerKind) async throws {
        try await BrokerHarness.with(kind) { broker in
            // A window long enough that a loaded machine cannot see it end during the test.
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<25 { group.addTask { try await broker.hit("requests:key_a", window: .seconds(60)).count } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(counts.sorted() == Array(1...25), "every hit gets its own count")
            let other = try await broker.hit("requests:key_b", window: .seconds(60))
            #expect(other.count == 1, "names are counted apart")
            #expect(other.resetsIn > .zero && other.resetsIn <= .seconds(60))
            #expect(try await broker.hit("requests:key_c", window: .milliseconds(300)).count == 1)
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await broker.hit("requests:key_c", window: .milliseconds(300)).count == 1, "a new window starts from one")
        }
    }

    @Test func theLocalCounterForgetsEndedWindows() async throws {
        let counter = LocalRateCounter()
        #expect(try await counter.hit("a", window: .milliseconds(50)).count == 1)
        #expect(try await counter.hit("a", window: .milliseconds(50)).count == 2)
        try await Task.sleep(for: .milliseconds(80))
        let fresh = try await counter.hit("a", window: .milliseconds(50))
        #expect(fresh.count == 1 && fresh.resetsIn <= .milliseconds(50))
    }
}
