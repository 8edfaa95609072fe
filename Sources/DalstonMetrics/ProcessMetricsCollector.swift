import CoreMetrics
import Foundation
import Synchronization

/// Prometheus' standard `process_*` metrics, read from Linux `/proc` on each scrape.
/// Elsewhere (no `/proc`) it reports nothing rather than guessing.
package final class ProcessMetricsCollector: MetricsCollector {
    private let cpu: FloatingPointCounter
    private let residentMemory: Gauge
    private let virtualMemory: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge
    /// CPU seconds already counted (the counter only takes increments).
    private let countedCPU = Mutex<Double>(0)

    package init(instruments: Instruments) {
        cpu = instruments.floatingCounter(DalstonMetric.processCPU)
        residentMemory = instruments.gauge(DalstonMetric.processResidentMemory)
        virtualMemory = instruments.gauge(DalstonMetric.processVirtualMemory)
        openFDs = instruments.gauge(DalstonMetric.processOpenFDs)
        maxFDs = instruments.gauge(DalstonMetric.processMaxFDs)
        startTime = instruments.gauge(DalstonMetric.processStartTime)
    }

    package func collect() async {
        guard let sample = ProcessSample.read() else { return }
        let delta = countedCPU.withLock { counted in
            defer { counted = max(counted, sample.cpuSeconds) }
            return max(0, sample.cpuSeconds - counted)
        }
        if delta > 0 { cpu.increment(by: delta) }
        residentMemory.record(sample.residentBytes)
        virtualMemory.record(sample.virtualBytes)
        startTime.record(sample.startTime)
        if let open = sample.openFileDescriptors { openFDs.record(open) }
        if let limit = sample.maximumFileDescriptors { maxFDs.record(limit) }
    }
}

/// One reading of `/proc/self`.
package struct ProcessSample: Sendable, Equatable {
    package var cpuSeconds: Double
    package var residentBytes: Double
    package var virtualBytes: Double
    package var startTime: Double
    package var openFileDescriptors: Double?
    package var maximumFileDescriptors: Double?

    package init(
        cpuSeconds: Double, residentBytes: Double, virtualBytes: Double, startTime: Double,
        openFileDescriptors: Double?, maximumFileDescriptors: Double?
    ) {
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.virtualBytes = virtualBytes
        self.startTime = startTime
        self.openFileDescriptors = openFileDescriptors
        self.maximumFileDescriptors = maximumFileDescriptors
    }

    package static func read() -> ProcessSample? {
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let systemStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8)
        else { return nil }
        let limits = try? String(contentsOfFile: "/proc/self/limits", encoding: .utf8)
        let openFDs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map { Double($0.count) }
        return parse(
            stat: stat, systemStat: systemStat, limits: limits, openFileDescriptors: openFDs,
            ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))), pageSize: Double(sysconf(Int32(_SC_PAGESIZE))))
        #else
        return nil
        #endif
    }

    /// Parses `/proc/self/stat` (fields after the parenthesised command name, which may itself
    /// hold spaces and parentheses), `btime` from `/proc/stat` and `Max open files`.
    package static func parse(
        stat: String, systemStat: String, limits: String?, openFileDescriptors: Double?, ticksPerSecond: Double, pageSize: Double
    ) -> ProcessSample? {
        guard let closing = stat.lastIndex(of: ")") else { return nil }
        // Field 3 (state) is the first after ")"; utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
        let fields = stat[stat.index(after: closing)...].split(separator: " ")
        func field(_ number: Int) -> Double? {
            let index = number - 3
            return fields.indices.contains(index) ? Double(fields[index]) : nil
        }
        guard ticksPerSecond > 0, let user = field(14), let system = field(15), let started = field(22),
              let virtual = field(23), let resident = field(24),
              let bootLine = systemStat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let bootTime = Double(bootLine.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        else { return nil }
        var maximum: Double?
        if let line = limits?.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") }) {
            maximum = line.dropFirst("Max open files".count).split(separator: " ").first.flatMap { Double($0) }
        }
        return ProcessSample(
            cpuSeconds: (user + system) / ticksPerSecond, residentBytes: resident * pageSize, virtualBytes: virtual,
            startTime: bootTime + started / ticksPerSecond, openFileDescriptors: openFileDescriptors, maximumFileDescriptors: maximum)
    }
}
