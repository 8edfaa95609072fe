import CoreMetrics
import DalstonMetrics
import DalstonTestSupport
import Foundation
import Testing

@Suite("Metrics: catalogue, factory, configuration")
struct MetricsFoundationTests {
    @Test func everyMetricIsDocumentedWithItsTypeAndLabels() throws {
        let docs = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        var rows: [String: (type: String, labels: String)] = [:]
        for line in docs.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 4 else { continue }  // the metrics table: name, type, labels, meaning
            for name in cells[0].components(separatedBy: "`, `") {
                rows[name.trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = (cells[1], cells[2])
            }
        }
        for metric in DalstonMetric.all {
            let row = try #require(rows[metric.name], "\(metric.name) is missing from docs/metrics.md")
            #expect(row.type == metric.kind.rawValue, "\(metric.name)")
            // "engine_id, status (`completed`, `failed`)": the names, without the listed values.
            let names = row.labels.replacingOccurrences(of: "\\([^)]*\\)", with: "", options: .regularExpression)
            let documented = names == "—" ? [] : names.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(documented == metric.labels, "\(metric.name): docs say \(row.labels)")
        }
        #expect(Set(DalstonMetric.all.map(\.name)).count == DalstonMetric.all.count, "names are unique")
    }

    @Test func namesFollowPrometheusConventions() {
        for metric in DalstonMetric.all {
            #expect(metric.name.range(of: "^[a-z_]+$", options: .regularExpression) != nil, "\(metric.name)")
            #expect(metric.name.hasPrefix("dalston_") || metric.name.hasPrefix("process_"), "\(metric.name)")
            #expect((metric.kind == .counter) == metric.name.hasSuffix("_total"), "\(metric.name): only counters end in _total")
            if metric.kind == .histogram {
                #expect(metric.name.hasSuffix("_seconds"), "\(metric.name): histograms here measure time")
                #expect(metric.buckets == metric.buckets.sorted() && !metric.buckets.isEmpty, "\(metric.name)")
            }
            #expect(!metric.labels.contains("service"), "the factory adds service")
            #expect(!metric.help.isEmpty)
        }
    }

    @Test func theFactoryAddsHelpServiceLabelAndCatalogueBuckets() {
        let metrics = MetricsRuntime.standalone(service: "dalston")
        let instruments = metrics.instruments(for: "engine")
        instruments.counter(DalstonMetric.tasksProcessed, [("engine_id", "merge"), ("status", "completed")]).increment(by: 3)
        instruments.timer(DalstonMetric.taskDuration, [("engine_id", "merge")]).record(seconds: 0.7)
        instruments.timer(DalstonMetric.taskDuration, [("engine_id", "merge")]).record(seconds: 42)
        // A library's metric, unknown to the catalogue, still gets help text and a service label.
        Counter(label: "library_widgets_total", dimensions: [], factory: metrics.factory(for: "gateway")).increment()

        let exposition = Exposition(metrics.exposition?.registry.emitToBuffer() ?? [])
        #expect(exposition.help["dalston_engine_tasks_processed_total"] == DalstonMetric.tasksProcessed.help)
        #expect(exposition.types["dalston_engine_task_duration_seconds"] == "histogram")
        #expect(exposition.value("dalston_engine_tasks_processed_total", ["service": "engine", "engine_id": "merge", "status": "completed"]) == 3)
        #expect(exposition.value("dalston_engine_task_duration_seconds_count", ["engine_id": "merge"]) == 2)
        #expect(exposition.value("dalston_engine_task_duration_seconds_sum", ["engine_id": "merge"]) == 42.7)
        #expect(exposition.value("dalston_engine_task_duration_seconds_bucket", ["engine_id": "merge", "le": "1.0"]) == 1)
        #expect(exposition.value("dalston_engine_task_duration_seconds_bucket", ["engine_id": "merge", "le": "60.0"]) == 2)
        #expect(exposition.value("dalston_engine_task_duration_seconds_bucket", ["engine_id": "merge", "le": "+Inf"]) == 2, "\(exposition.text)")
        let buckets = (exposition.samples["dalston_engine_task_duration_seconds_bucket"] ?? []).compactMap { $0.labels["le"] }
        #expect(buckets.count == DalstonMetric.taskDuration.buckets.count + 1, "the catalogue's buckets plus +Inf: \(buckets)")
        #expect(exposition.value("library_widgets_total", ["service": "gateway"]) == 1)
        #expect(exposition.help["library_widgets_total"]?.isEmpty == false)
    }

    @Test func disabledMetricsRecordNothingAndServeNothing() {
        let metrics = MetricsRuntime.disabled
        #expect(!metrics.isEnabled && metrics.exposition == nil)
        metrics.instruments(for: "gateway").counter(DalstonMetric.gatewayUploadBytes).increment(by: 10)
    }

    @Test(arguments: [
        (["METRICS_ENABLED": "false"], MetricsConfiguration(enabled: false)),
        (["METRICS_ENABLED": "TRUE", "METRICS_PORT": "9500"], MetricsConfiguration(enabled: true, port: 9500)),
        ([:], MetricsConfiguration()),
    ])
    func configurationFromTheEnvironment(environment: [String: String], expected: MetricsConfiguration) throws {
        #expect(try MetricsConfiguration.fromEnvironment(environment) == expected)
    }

    @Test(arguments: [["METRICS_ENABLED": "maybe"], ["METRICS_PORT": "70000"], ["METRICS_PORT": "http"]])
    func badValuesAreClearErrors(environment: [String: String]) {
        #expect {
            try MetricsConfiguration.fromEnvironment(environment)
        } throws: { error in
            let text = "\(error)"
            return text.contains(environment.keys.first ?? "?") && text.contains("expected")
        }
    }

    @Test func processSamplesParseProcFilesEvenWithAnOddCommandName() throws {
        // Field 2 is the command in parentheses; it may contain spaces and parentheses.
        var fields = Array(repeating: "0", count: 52)
        fields[0] = "4242"
        fields[1] = "(odd) name)"
        fields[2] = "S"
        fields[13] = "250"  // utime ticks
        fields[14] = "150"  // stime ticks
        fields[21] = "1000"  // starttime ticks after boot
        fields[22] = "123456789"  // vsize bytes
        fields[23] = "2000"  // rss pages
        let sample = try #require(ProcessSample.parse(
            stat: fields.joined(separator: " "), systemStat: "cpu  1 2 3\nbtime 1700000000\n",
            limits: "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n",
            openFileDescriptors: 12, ticksPerSecond: 100, pageSize: 4096))
        #expect(sample == ProcessSample(
            cpuSeconds: 4, residentBytes: 8_192_000, virtualBytes: 123_456_789, startTime: 1_700_000_010,
            openFileDescriptors: 12, maximumFileDescriptors: 1024))
        #expect(ProcessSample.parse(stat: "garbage", systemStat: "", limits: nil, openFileDescriptors: nil, ticksPerSecond: 100, pageSize: 4096) == nil)
    }

    @Test func theLiveProcessIsSampled() async throws {
        #if os(Linux)
        let metrics = MetricsRuntime.standalone(service: "test")
        let collector = ProcessMetricsCollector(instruments: metrics.instruments(for: "test"))
        await collector.collect()
        let exposition = Exposition(metrics.exposition?.registry.emitToBuffer() ?? [])
        #expect((exposition.value("process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((exposition.value("process_open_fds") ?? 0) >= 3)
        let start = try #require(exposition.value("process_start_time_seconds"))
        #expect(abs(start - Date().timeIntervalSince1970) < 24 * 3600)
        #expect((exposition.value("process_cpu_seconds_total") ?? 0) > 0)
        #endif
    }
}

/// The package root (tests run from anywhere).
let repositoryRoot: URL = {
    var directory = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { directory.deleteLastPathComponent() }
    return directory
}()
