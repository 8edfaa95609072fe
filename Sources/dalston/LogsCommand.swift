import ArgumentParser
import DalstonLogTools
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `dalston logs`: one request's story across services, from their JSON log files.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Show one request's lines from many services' JSON logs, merged in time order.",
        discussion: """
            dalston logs --request-id req_… gateway.log orchestrator.log engines/
            Reads files (.gz too), directories (every file inside) or standard input (no path, or -).
            Ids link: a request's job ids are followed, and their task ids, so lines that carry only
            job_id or task_id are shown too. Lines that are not JSON are skipped and counted.
            """)

    @Argument(help: "Log files or directories; none or - reads standard input.")
    var paths: [String] = []

    @Option(name: .customLong("request-id"), help: "A request's id (repeatable).") var requestIDs: [String] = []
    @Option(name: .customLong("job-id"), help: "A job's id (repeatable).") var jobIDs: [String] = []
    @Option(name: .customLong("session-id"), help: "A realtime session's id (repeatable).") var sessionIDs: [String] = []
    @Option(name: .customLong("trace-id"), help: "A trace id (repeatable).") var traceIDs: [String] = []

    enum Format: String, ExpressibleByArgument { case timeline, json }
    @Option(help: "timeline (for people) or json (the lines unchanged, for jq and other tools).") var format: Format = .timeline

    @Flag(help: "Per request: stages and their durations, the slowest step, the errors.") var summary = false
    @Flag(help: "Keep reading the files and print new matching lines as they are written.") var follow = false

    enum ColorChoice: String, ExpressibleByArgument { case auto, always, never }
    @Option(help: "Colours: auto (on a terminal), always, never.") var color: ColorChoice = .auto

    var identifiers: [IdentifierKind: Set<String>] {
        [.request: Set(requestIDs), .job: Set(jobIDs), .session: Set(sessionIDs), .trace: Set(traceIDs)].filter { !$0.value.isEmpty }
    }

    func validate() throws {
        if identifiers.isEmpty && !follow {
            throw ValidationError("give --request-id, --job-id, --session-id or --trace-id (or --follow to tail every line)")
        }
        if follow && (paths.isEmpty || paths == ["-"]) { throw ValidationError("--follow needs files to tail") }
    }

    func run() throws {
        let output = BufferedOutput()
        defer { output.flush() }
        let colors = color == .always || (color == .auto && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
        let inputs = try expand(paths)
        if follow {
            let follower = try LogFollower(paths: inputs, identifiers: identifiers)
            let renderer = TimelineRenderer(colors: colors)
            try follower.run { line in
                if format == .json {
                    output.write(line)
                } else {
                    renderer.render([LogEntry(timestamp: "", raw: line, input: 0, lineNumber: 0)].map { $0.withTimestamp() }) { output.write($0) }
                }
                output.flush()
            }
            return
        }
        let (files, spool) = try spoolStandardInput(inputs)
        defer { if let spool { unlink(spool) } }
        let result = try LogSearch(inputs: files, identifiers: identifiers).run()
        if summary {
            for request in RequestSummary.summaries(result.entries) { output.write(request.text) }
        } else if format == .json {
            for entry in result.entries { output.write(entry.raw) }
        } else {
            TimelineRenderer(colors: colors).render(result.entries) { output.write($0) }
        }
        output.flush()
        var notes: [String] = []
        if result.entries.isEmpty { notes.append("no line matches") }
        if result.nonJSONLines > 0 { notes.append("\(result.nonJSONLines) non-JSON lines skipped") }
        if result.malformedLines > 0 { notes.append("\(result.malformedLines) malformed JSON lines skipped") }
        if !notes.isEmpty {
            FileHandle.standardError.write(Data("dalston logs: \(notes.joined(separator: "; ")) (\(result.linesRead) lines read, \(result.passes) passes)\n".utf8))
        }
    }

    /// Directories become their files (sorted, hidden ones left out); no path means stdin.
    private func expand(_ paths: [String]) throws -> [String] {
        guard !paths.isEmpty else { return ["-"] }
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard path == "-" || FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationError("\(path): no such file or directory")
            }
            if isDirectory.boolValue {
                let enumerator = FileManager.default.enumerator(atPath: path)
                var found: [String] = []
                while let name = enumerator?.nextObject() as? String {
                    let full = (path as NSString).appendingPathComponent(name)
                    var nested: ObjCBool = false
                    if !name.split(separator: "/").contains(where: { $0.hasPrefix(".") }), FileManager.default.fileExists(atPath: full, isDirectory: &nested), !nested.boolValue {
                        found.append(full)
                    }
                }
                files += found.sorted()
            } else {
                files.append(path)
            }
        }
        return files
    }

    /// Standard input can be read only once, and the search reads in passes: it is copied to a
    /// temporary file first (streamed, never held in memory).
    private func spoolStandardInput(_ inputs: [String]) throws -> ([String], String?) {
        guard inputs.contains("-") else { return (inputs, nil) }
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-logs-\(UUID().uuidString)").path
        let descriptor = open(spool, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot buffer standard input: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = block.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            _ = block.withUnsafeBytes { write(descriptor, $0.baseAddress, count) }
        }
        return (inputs.map { $0 == "-" ? spool : $0 }, spool)
    }
}

/// Standard output in 64 KB writes (a timeline of thousands of lines is one `write(2)` per block).
final class BufferedOutput {
    private var buffer: [UInt8] = []

    func write(_ line: String) {
        buffer += Array(line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 64 * 1024 { flush() }
    }

    func flush() {
        var offset = 0
        buffer.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            while offset < bytes.count {
                let written = Glibc.write(STDOUT_FILENO, base + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

extension LogEntry {
    /// The entry with its timestamp read from the line (follow mode reads lines one by one).
    func withTimestamp() -> LogEntry {
        let object = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any]
        return LogEntry(timestamp: object?["timestamp"] as? String ?? "", raw: raw, input: input, lineNumber: lineNumber)
    }
}
