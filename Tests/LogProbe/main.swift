// A process that logs through Dalston's one configuration point and then ends in a chosen way,
// for tests of what reaches stdout: `dalston-log-probe LINES exit|return|sigterm`.
//
//   exit      logs LINES lines, then calls exit(0) at once
//   return    logs LINES lines, then returns from main
//   sigterm   logs LINES lines, prints "ready" on stderr, and on SIGTERM logs a last line and
//             exits normally (as every Dalston service's graceful shutdown ends)
//
// The output settings come from the environment (LOG_BUFFER_BYTES, LOG_BUFFER_FULL, ...). At
// the end it prints `dropped N` on stderr: the lines the writer discarded.
import DalstonLogging
import Dispatch
import Foundation
import Logging

/// Not main-actor code: the SIGTERM handler runs on a dispatch thread.
enum LogProbe {
    static func run(arguments: [String]) -> any DispatchSourceSignal {
        guard arguments.count >= 3, let lines = Int(arguments[1]), ["exit", "return", "sigterm"].contains(arguments[2]) else {
            FileHandle.standardError.write(Data("usage: dalston-log-probe LINES exit|return|sigterm\n".utf8))
            exit(2)
        }
        let ending = arguments[2]
        let logger: Logger
        do {
            logger = try DalstonLogging.configure(service: "probe")
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(78)
        }
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler {
            logger.info("shutdown_complete")
            reportDropped()
            exit(0)
        }
        source.resume()
        withLogContext(["request_id": "req_probe"]) {
            for index in 0..<lines { logger.info("probe_line", metadata: ["index": .stringConvertible(index)]) }
        }
        switch ending {
        case "sigterm":
            FileHandle.standardError.write(Data("ready\n".utf8))
            while true { sleep(60) }
        case "exit":
            reportDropped()
            exit(0)
        default:
            reportDropped()
            return source
        }
    }

    static func reportDropped() {
        let dropped = DalstonLogging.pipeline?.writer.droppedLines ?? 0
        FileHandle.standardError.write(Data("dropped \(dropped)\n".utf8))
    }
}

let source = LogProbe.run(arguments: CommandLine.arguments)
source.cancel()
