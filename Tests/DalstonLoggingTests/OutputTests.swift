import DalstonLogging
import DalstonTestSupport
import Foundation
import Logging
import Testing

@Suite("Output")
struct OutputTests {
    @Test func eightTasksTenThousandLinesEachThroughAPipeNeverInterleave() async throws {
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        let (readEnd, writeEnd) = (descriptors[0], descriptors[1])
        let collected = LockedData()
        let reader = Thread {
            let handle = FileHandle(fileDescriptor: readEnd, closeOnDealloc: true)
            collected.set(handle.readDataToEndOfFile())
        }
        reader.start()

        let writer = FileDescriptorLineWriter(fileDescriptor: writeEnd)
        let pipeline = LogPipeline(configuration: LoggingConfiguration(service: "test", writer: writer))
        let tasks = 8
        let linesPerTask = 10_000
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    let logger = pipeline.makeLogger(label: "dalston.test")
                    // Lines longer than PIPE_BUF (4096) would be split by the kernel without our lock.
                    let padding = String(repeating: "p", count: task == 0 ? 6000 : 40)
                    withLogContext(["request_id": "req_\(task)"]) {
                        for index in 0..<linesPerTask {
                            logger.info("line", metadata: ["task": .stringConvertible(task), "index": .stringConvertible(index), "padding": "\(padding)"])
                        }
                    }
                }
            }
        }
        close(writeEnd)
        while !collected.isSet { try await Task.sleep(for: .milliseconds(5)) }

        let lines = collected.value.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        #expect(lines.last?.isEmpty == true, "output ends with a newline")
        var nextIndex = [Int](repeating: 0, count: tasks)
        var parsed = 0
        for line in lines.dropLast() {
            let object = try JSONLine.object(String(decoding: line, as: UTF8.self))
            let task = try #require(object["task"] as? Int)
            #expect(object["request_id"] as? String == "req_\(task)")
            #expect(object["index"] as? Int == nextIndex[task], "each task's lines arrive whole and in order")
            nextIndex[task] += 1
            parsed += 1
        }
        #expect(parsed == tasks * linesPerTask)
        #expect(writer.droppedLines == 0)
    }

    @Test func aClosedDestinationDropsLinesWithoutCrashing() throws {
        signal(SIGPIPE, SIG_IGN)
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        close(descriptors[0])
        let writer = FileDescriptorLineWriter(fileDescriptor: descriptors[1])
        let logger = LogPipeline(configuration: LoggingConfiguration(service: "test", writer: writer)).makeLogger(label: "x")
        logger.info("into_a_broken_pipe")
        logger.info("again")
        #expect(writer.droppedLines == 2)
        close(descriptors[1])
        // Not the number just closed: a test running beside this one may already have been given
        // it (a socket, a pipe), and this line would land there. -1 is never a descriptor.
        let closed = FileDescriptorLineWriter(fileDescriptor: -1)
        LogPipeline(configuration: LoggingConfiguration(service: "test", writer: closed)).makeLogger(label: "x").info("bad_fd")
        #expect(closed.droppedLines == 1)
    }

    @Test func reentrantLoggingFromADescriptionDoesNotCorruptTheLine() throws {
        let logs = try CapturedLogging()
        let inner = logs.logger("inner")
        struct Chatty: CustomStringConvertible, Sendable {
            let logger: Logger
            var description: String {
                logger.info("from_description")
                return "chatty-value"
            }
        }
        logs.logger("outer").info("outer", metadata: ["value": .stringConvertible(Chatty(logger: inner))])
        let objects = try logs.objects()
        #expect(objects.count == 2)
        #expect(objects.contains { $0["event"] as? String == "outer" && $0["value"] as? String == "chatty-value" })
    }
}
