import CoreMetrics
@testable import DalstonMetrics
import DalstonTestSupport
import Testing

@Suite("Metrics: instruments looked up by labels")
struct HandleCacheTests {
    @Test func theSameLabelsGiveTheSameHandleAndOthersDiffer() {
        let instruments = MetricsRuntime.standalone(service: "test").instruments(for: "test")
        let completed = instruments.counter(DalstonMetric.tasksProcessed, [("engine_id", "transcribe"), ("status", "completed")])
        #expect(completed === instruments.counter(DalstonMetric.tasksProcessed, [("engine_id", "transcribe"), ("status", "completed")]))
        let failed = instruments.counter(DalstonMetric.tasksProcessed, [("engine_id", "transcribe"), ("status", "failed")])
        #expect(completed !== failed)
        // The boundary between values counts: ("ab", "c") is not ("a", "bc").
        let split1 = instruments.counter(DalstonMetric.tasksProcessed, [("engine_id", "ab"), ("status", "c")])
        let split2 = instruments.counter(DalstonMetric.tasksProcessed, [("engine_id", "a"), ("status", "bc")])
        #expect(split1 !== split2)
        #expect(HandleCache.hash(name: "m", labels: [("x", "ab"), ("y", "c")]) != HandleCache.hash(name: "m", labels: [("x", "a"), ("y", "bc")]))
    }

    @Test func collidingHashesAreToldApartByTheirValues() {
        // Every entry in one bucket: the lookup must compare names, types and values, not trust the hash.
        let cache = HandleCache(hashMask: 0)
        final class Box: Sendable { let tag: String; init(_ tag: String) { self.tag = tag } }
        final class OtherBox: Sendable {}
        let names = (0..<200).map { "metric_\($0)" }
        for name in names {
            let box = cache.handle(name: name, labels: [("a", name)]) { Box(name) }.takeUnretainedValue()
            #expect(box.tag == name)
        }
        for name in names {
            #expect(cache.handle(name: name, labels: [("a", name)]) { Box("new") }.takeUnretainedValue().tag == name, "cached, not made again")
        }
        let other = cache.handle(name: "metric_0", labels: [("a", "metric_0")]) { OtherBox() }.takeUnretainedValue()
        #expect(other === cache.handle(name: "metric_0", labels: [("a", "metric_0")]) { OtherBox() }.takeUnretainedValue(),
                "another handle type has an entry of its own")
    }

    @Test func valuesOfEveryLengthAreHashedWhole() {
        // Values are hashed a word at a time, the last word overlapping the one before: a change
        // in any byte, at any length, gives another handle.
        let cache = HandleCache()
        final class Box: Sendable { let tag: String; init(_ tag: String) { self.tag = tag } }
        for length in 0..<40 {
            let base = String(repeating: "a", count: length)
            var seen: [ObjectIdentifier] = [ObjectIdentifier(cache.handle(name: "m", labels: [("v", base)]) { Box(base) }.takeUnretainedValue())]
            for position in 0..<length {
                var bytes = Array(base.utf8)
                bytes[position] = UInt8(ascii: "b")
                let changed = String(decoding: bytes, as: UTF8.self)
                let box = cache.handle(name: "m", labels: [("v", changed)]) { Box(changed) }.takeUnretainedValue()
                #expect(box.tag == changed)
                seen.append(ObjectIdentifier(box))
            }
            #expect(Set(seen).count == seen.count, "length \(length)")
        }
    }

    @Test func theCacheReleasesItsHandlesWhenItGoes() {
        final class Box: Sendable {}
        weak var kept: Box?
        do {
            let cache = HandleCache()
            let handle = cache.handle(name: "m", labels: []) { Box() }
            kept = handle.takeUnretainedValue()
            #expect(kept != nil, "the cache holds its handles")
        }
        #expect(kept == nil, "and lets them go with itself")
    }

    @Test func incrementAddsToTheSameSeriesAsTheHandle() async {
        let runtime = MetricsRuntime.standalone(service: "test")
        let instruments = runtime.instruments(for: "test")
        let labels = [("engine_id", "transcribe"), ("status", "completed")]
        instruments.counter(DalstonMetric.tasksProcessed, labels).increment()
        instruments.increment(DalstonMetric.tasksProcessed, labels)
        instruments.increment(DalstonMetric.tasksProcessed, labels, by: 3)
        instruments.record(DalstonMetric.taskDuration, [("engine_id", "transcribe")], seconds: 0.2)
        instruments.record(DalstonMetric.taskDuration, [("engine_id", "transcribe")], duration: .milliseconds(300))
        let exposition = Exposition(String(decoding: await runtime.exposition?.render() ?? [], as: UTF8.self))
        func value(_ name: String) -> Double? {
            exposition.samples[name]?.first { $0.labels["engine_id"] == "transcribe" }?.value
        }
        #expect(value("dalston_engine_tasks_processed_total") == 5, "\(exposition.text)")
        #expect(value("dalston_engine_task_duration_seconds_count") == 2, "\(exposition.text)")
        #expect(abs((value("dalston_engine_task_duration_seconds_sum") ?? 0) - 0.5) < 1e-9, "\(exposition.text)")
        Instruments.disabled.increment(DalstonMetric.tasksProcessed, labels)  // records nothing, and does not trap
    }

    @Test func durationsBecomeWholeNanosecondsAndNeverNegative() {
        #expect(Instruments.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
        #expect(Instruments.nanoseconds(.nanoseconds(-5)) == 0)
        #expect(Instruments.nanoseconds(.seconds(Int64.max)) == .max)
        #expect(Instruments.nanoseconds(.seconds(Int64.min)) == 0)
    }

    @Test func concurrentLookupsAgreeOnOneHandle() async {
        let instruments = MetricsRuntime.standalone(service: "test").instruments(for: "test")
        let handles = await withTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    ObjectIdentifier(instruments.counter(DalstonMetric.tasksProcessed, [("engine_id", "merge"), ("status", "completed")]))
                }
            }
            return await group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) }
        }
        #expect(handles.count == 1)
    }

    @Test func aHandleFoundByLabelsCountsIntoTheSameSeries() async throws {
        let runtime = MetricsRuntime.standalone(service: "test")
        let instruments = runtime.instruments(for: "test")
        for _ in 0..<3 {
            instruments.counter(DalstonMetric.tasksProcessed, [("engine_id", "merge"), ("status", "completed")]).increment()
        }
        let exposition = try #require(runtime.exposition)
        let text = String(decoding: await exposition.render(), as: UTF8.self)
        let series = text.split(separator: "\n").filter { $0.hasPrefix("dalston_engine_tasks_processed_total{") && $0.contains(#"engine_id="merge""#) }
        #expect(series.count == 1 && series.first?.hasSuffix(" 3") == true, "\(series)")
    }

    @Test func twoRegistriesNeverShareAHandleThroughTheThreadsRecentHandles() {
        // The same metric and labels in two registries, looked up alternately on one thread: each
        // registry keeps its own series.
        let first = MetricsRuntime.standalone(service: "one").instruments(for: "one")
        let second = MetricsRuntime.standalone(service: "two").instruments(for: "two")
        let labels = [("engine_id", "merge"), ("status", "completed")]
        for _ in 0..<3 {
            let a = first.counter(DalstonMetric.tasksProcessed, labels)
            let b = second.counter(DalstonMetric.tasksProcessed, labels)
            #expect(a !== b)
            #expect(a === first.counter(DalstonMetric.tasksProcessed, labels))
            #expect(b === second.counter(DalstonMetric.tasksProcessed, labels))
        }
    }
}
