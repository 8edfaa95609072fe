@testable import DalstonLogging
import DalstonTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Logging: the buffered writer loses no line")
struct BufferedWriterTests {
    /// A pipe whose read end the test drains (at the pace it chooses) on a thread of its own.
    final class Pipe: @unchecked Sendable {
        let readEnd: Int32
        let writeEnd: Int32
        private let lock = NSLock()
        private var received: [UInt8] = []

        init() throws {
            var descriptors: [Int32] = [0, 0]
            guard pipe(&descriptors) == 0 else { throw POSIXError(.EMFILE) }
            readEnd = descriptors[0]
            writeEnd = descriptors[1]
        }

        /// Reads until end of file, `chunk` bytes at a time with `pause` between reads.
        func drain(chunk: Int = 65536, pause: useconds_t = 0) -> Thread {
            let thread = Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: chunk)
                while true {
                    let count = read(readEnd, &buffer, chunk)
                    if count <= 0 { break }
                    lock.withLock { received += buffer[0..<count] }
                    if pause > 0 { usleep(pause) }
                }
            }
            thread.start()
            return thread
        }

        var lines: [String] {
            lock.withLock { String(decoding: received, as: UTF8.self) }.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }

    static func line(_ index: Int) -> [UInt8] {
        Array("{\"index\":\(index),\"padding\":\"\(String(repeating: "x", count: index % 97))\"}\n".utf8)
    }

    @Test func concurrentWritersLoseAndTearNoLine() async throws {
        let pipe = try Pipe()
        let reader = pipe.drain()
        let writer = BufferedLineWriter(fileDescriptor: pipe.writeEnd, capacity: 8192, flushInterval: .milliseconds(5))
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<4 {
                group.addTask {
                    for index in 0..<2000 {
                        Self.line(thread * 10_000 + index).withUnsafeBytes { writer.write(line: $0) }
                    }
                }
            }
        }
        writer.close()
        close(pipe.writeEnd)
        while !reader.isFinished { try await Task.sleep(for: .milliseconds(10)) }
        let lines = pipe.lines
        #expect(lines.count == 8000)
        #expect(Set(lines).count == 8000)
        for line in lines { #expect(line.hasPrefix("{\"index\":") && line.hasSuffix("\"}"), "torn: \(line)") }
        // Each writer's lines stay in its order.
        let indices = lines.compactMap { Int($0.dropFirst(9).prefix { $0.isNumber }) }
        for thread in 0..<4 {
            let own = indices.filter { $0 / 10_000 == thread }
            #expect(own == own.sorted())
        }
        #expect(writer.droppedLines == 0)
    }

    @Test func aLineReachesTheDescriptorWithinTheFlushInterval() async throws {
        let pipe = try Pipe()
        let reader = pipe.drain()
        let writer = BufferedLineWriter(fileDescriptor: pipe.writeEnd, flushInterval: .milliseconds(20))
        Self.line(1).withUnsafeBytes { writer.write(line: $0) }
        // No flush, no close: the timer writes it.
        var waited = 0
        while pipe.lines.isEmpty && waited < 5000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 10
        }
        #expect(pipe.lines.count == 1, "the line was written by the interval, without a flush")
        writer.close()
        close(pipe.writeEnd)
        _ = reader
    }

    @Test func aWarningIsWrittenBeforeItsCallReturnsWithTheLinesBeforeIt() async throws {
        let pipe = try Pipe()
        let reader = pipe.drain()
        let writer = BufferedLineWriter(fileDescriptor: pipe.writeEnd, flushInterval: .seconds(60))
        for format in [LogFormat.json, .console] {
            let logger = LogPipeline(configuration: LoggingConfiguration(service: "test", format: format, writer: writer)).makeLogger(label: "dalston.test")
            logger.info("first")
            try await Task.sleep(for: .milliseconds(100))
            let before = pipe.lines.count
            logger.warning("second")
            var waited = 0
            while pipe.lines.count < before + 2 && waited < 5000 {
                try await Task.sleep(for: .milliseconds(5))
                waited += 5
            }
            #expect(pipe.lines.count == before + 2, "\(format): the warning and the info line before it are out")
        }
        #expect(pipe.lines.first?.contains("first") == true)
        writer.close()
        close(pipe.writeEnd)
        _ = reader
    }

    @Test func aStalledPipeBlocksWritersUnderTheBlockPolicyAndLosesNothing() async throws {
        let pipe = try Pipe()
        let writer = BufferedLineWriter(fileDescriptor: pipe.writeEnd, capacity: 4096, flushInterval: .milliseconds(5), policy: .block)
        // On a thread of its own: it blocks, and the concurrency pool must not.
        let writing = Thread {
            for index in 0..<3000 { Self.line(index).withUnsafeBytes { writer.write(line: $0) } }
        }
        writing.start()
        // Nobody reads for a while: the pipe (64 KiB) and the buffer fill up and the writer waits.
        try await Task.sleep(for: .milliseconds(300))
        #expect(!writing.isFinished, "the writer waits for room")
        // Then a slow reader: 512 bytes every millisecond.
        let reader = pipe.drain(chunk: 512, pause: 1000)
        while !writing.isFinished { try await Task.sleep(for: .milliseconds(10)) }
        writer.close()
        close(pipe.writeEnd)
        while !reader.isFinished { try await Task.sleep(for: .milliseconds(10)) }
        let lines = pipe.lines
        #expect(lines.count == 3000)
        #expect(lines.map { Int($0.dropFirst(9).prefix { $0.isNumber }) ?? -1 } == Array(0..<3000))
        #expect(writer.droppedLines == 0)
    }

    @Test func aStalledPipeDropsAndCountsUnderTheDropPolicy() async throws {
        let pipe = try Pipe()
        let writer = BufferedLineWriter(fileDescriptor: pipe.writeEnd, capacity: 4096, flushInterval: .milliseconds(5), policy: .drop)
        // Nobody reads: the pipe (64 KiB) fills, the flushing thread's write blocks, and the lines
        // that do not fit the buffer are dropped at once instead of blocking the caller.
        let start = ContinuousClock.now
        for index in 0..<20_000 { Self.line(index).withUnsafeBytes { writer.write(line: $0) } }
        #expect(ContinuousClock.now - start < .seconds(10), "no call waited on the stalled pipe")
        let dropped = writer.droppedLines
        #expect(dropped > 0)
        let reader = pipe.drain()
        writer.close()
        close(pipe.writeEnd)
        while !reader.isFinished { try await Task.sleep(for: .milliseconds(10)) }
        let lines = pipe.lines
        #expect(UInt64(lines.count) + dropped == 20_000, "every line was either written whole or counted")
        for line in lines { #expect(line.hasPrefix("{\"index\":") && line.hasSuffix("\"}"), "torn: \(line)") }
    }

    @Test func aLineLongerThanTheBufferIsWrittenWholeAndInOrder() async throws {
        let pipe = try Pipe()
        let reader = pipe.drain()
        let writer = BufferedLineWriter(fileDescriptor: pipe.writeEnd, capacity: 4096, flushInterval: .seconds(60))
        Self.line(1).withUnsafeBytes { writer.write(line: $0) }
        let long = Array("{\"index\":2,\"padding\":\"\(String(repeating: "y", count: 20_000))\"}\n".utf8)
        long.withUnsafeBytes { writer.write(line: $0) }
        Self.line(3).withUnsafeBytes { writer.write(line: $0) }
        writer.close()
        close(pipe.writeEnd)
        while !reader.isFinished { try await Task.sleep(for: .milliseconds(10)) }
        #expect(pipe.lines.map { $0.prefix(11) } == ["{\"index\":1,", "{\"index\":2,", "{\"index\":3,"])
    }

    // MARK: - A separate process through the one configuration point

    static var probe: URL { BuiltProducts.url("dalston-log-probe") }

    @Test(arguments: ["exit", "return"])
    func noLineIsLostWhenTheProcessExits(ending: String) async throws {
        // A flush interval far longer than the run: only the exit flush can write the lines.
        let result = try await runProcess(Self.probe, arguments: ["5000", ending], environment: [
            "LOG_FORMAT": "json", "LOG_FLUSH_INTERVAL_MS": "60000", "LOG_BUFFER_BYTES": "1048576",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 5000)
        #expect(lines.last?.contains(#""index":4999"#) == true)
        #expect(result.stderr.contains("dropped 0"))
    }

    @Test func noLineIsLostAtSIGTERM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("stdout")
        let errors = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let process = Process()
        process.executableURL = Self.probe
        process.arguments = ["3000", "sigterm"]
        process.environment = ["LOG_FORMAT": "json", "LOG_FLUSH_INTERVAL_MS": "60000", "LOG_BUFFER_BYTES": "1048576"]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        ChildProcessRegistry.track(process.processIdentifier)
        defer { ChildProcessRegistry.untrack(process.processIdentifier) }
        var waited = 0
        while !((try? String(contentsOf: errors, encoding: .utf8)) ?? "").contains("ready") && waited < 30_000 {
            try await Task.sleep(for: .milliseconds(20))
            waited += 20
        }
        #expect(((try? String(contentsOf: output, encoding: .utf8)) ?? "").isEmpty, "the lines are still in the buffer")
        process.terminate()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3001, "3000 lines and the shutdown line")
        #expect(lines.last?.contains("shutdown_complete") == true)
    }

    @Test func aSlowPipeReaderGetsEveryLineOfAProcess() async throws {
        // The probe writes 20 000 lines into a pipe read 4 KiB every 2 ms: under the default
        // block policy the probe waits and nothing is dropped.
        let process = Process()
        process.executableURL = Self.probe
        process.arguments = ["20000", "return"]
        process.environment = ["LOG_FORMAT": "json", "LOG_BUFFER_BYTES": "16384"]
        let pipe = Foundation.Pipe()
        process.standardOutput = pipe
        let errors = Foundation.Pipe()
        process.standardError = errors
        try process.run()
        ChildProcessRegistry.track(process.processIdentifier)
        defer { ChildProcessRegistry.untrack(process.processIdentifier) }
        // Read on a thread of its own (blocking reads must not hold the concurrency pool).
        let data = await withCheckedContinuation { (continuation: CheckedContinuation<Data, Never>) in
            Thread.detachNewThread {
                var collected = Data()
                let handle = pipe.fileHandleForReading
                while true {
                    let chunk = handle.readData(ofLength: 4096)
                    if chunk.isEmpty { break }
                    collected.append(chunk)
                    usleep(2000)
                }
                continuation.resume(returning: collected)
            }
        }
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 20_000)
        #expect(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("dropped 0"))
    }

    @Test func badBufferSettingsAreStartUpErrors() {
        for (variable, value) in [("LOG_BUFFER_BYTES", "-1"), ("LOG_BUFFER_BYTES", "lots"), ("LOG_FLUSH_INTERVAL_MS", "0"), ("LOG_BUFFER_FULL", "wait")] {
            #expect(throws: LoggingConfigurationError.self, "\(variable)=\(value)") {
                _ = try LoggingConfiguration.fromEnvironment(service: "test", environment: [variable: value])
            }
        }
        #expect((try? LoggingConfiguration.fromEnvironment(service: "test", environment: ["LOG_BUFFER_BYTES": "0"]))?.writer is FileDescriptorLineWriter)
        #expect((try? LoggingConfiguration.fromEnvironment(service: "test", environment: [:]))?.writer is BufferedLineWriter)
    }
}
