import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The correlation fields a request's lines are found by.
package enum IdentifierKind: String, CaseIterable, Sendable {
    case request = "request_id", job = "job_id", task = "task_id", session = "session_id", trace = "trace_id"
}

/// One line of the result, as it was written, with where it came from.
package struct LogEntry: Sendable {
    package let timestamp: String
    package let raw: String
    package let input: Int
    package let lineNumber: Int

    package init(timestamp: String, raw: String, input: Int, lineNumber: Int) {
        self.timestamp = timestamp
        self.raw = raw
        self.input = input
        self.lineNumber = lineNumber
    }
}

/// What a search found and what it skipped.
package struct LogSearchResult: Sendable {
    /// In timestamp order (ties keep input order).
    package var entries: [LogEntry]
    /// Every id the search followed, by kind (the ones asked for and those linked to them).
    package var identifiers: [IdentifierKind: Set<String>]
    package var nonJSONLines = 0
    package var malformedLines = 0
    package var linesRead = 0
    package var passes = 0
}

/// Finds every line of a request (or job, session, trace) in many services' log files, following
/// the links between ids: a line that carries a followed id and another id (a job's `job_id` on a
/// line with the request's `request_id`, a task's `task_id` beside its `job_id`) adds the other,
/// so lines that carry only `job_id` or only `task_id` are found too.
///
/// Files are read as streams, in passes: each pass may find new ids, and only a pass that finds
/// none has seen every matching line. Memory holds the matching lines and the ids, never a file.
package struct LogSearch {
    package let inputs: [String]
    package let start: [IdentifierKind: Set<String>]

    package init(inputs: [String], identifiers: [IdentifierKind: Set<String>]) {
        self.inputs = inputs
        self.start = identifiers
    }

    static let scannedKeys = IdentifierKind.allCases.map(\.rawValue) + ["timestamp"]

    package func run(maximumPasses: Int = 6) throws -> LogSearchResult {
        var selected = Selection(start)
        var result = LogSearchResult(entries: [], identifiers: [:])
        let scanner = FieldScanner(keys: Self.scannedKeys)
        var found = [Range<Int>?](repeating: nil, count: Self.scannedKeys.count)
        for pass in 1...maximumPasses {
            var entries: [LogEntry] = []
            var learned = false
            var nonJSON = 0, malformed = 0, lines = 0
            for (index, input) in inputs.enumerated() {
                let reader = try LineReader(path: input)
                var lineNumber = 0
                try reader.forEachLine { line in
                    lineNumber += 1
                    lines += 1
                    switch scanner.scan(line, found: &found) {
                    case .notJSON:
                        if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { nonJSON += 1 }
                    case .malformed:
                        malformed += 1
                    case .object:
                        guard selected.matches(line, found) else { return true }
                        if selected.learn(line, found) { learned = true }
                        let timestamp = found[IdentifierKind.allCases.count].map { String(decoding: UnsafeRawBufferPointer(rebasing: line[$0]), as: UTF8.self) } ?? ""
                        entries.append(LogEntry(timestamp: timestamp, raw: String(decoding: line, as: UTF8.self), input: index, lineNumber: lineNumber))
                    }
                    return true
                }
            }
            result.passes = pass
            if !learned || pass == maximumPasses {
                result.entries = entries.enumerated().sorted { ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset) }.map(\.element)
                result.nonJSONLines = nonJSON
                result.malformedLines = malformed
                result.linesRead = lines
                break
            }
        }
        result.identifiers = selected.identifiers
        return result
    }
}

/// The ids being followed, kept as bytes so a line is matched without building strings.
struct Selection {
    private(set) var values: [[[UInt8]]]

    init(_ identifiers: [IdentifierKind: Set<String>]) {
        values = IdentifierKind.allCases.map { kind in (identifiers[kind] ?? []).map { Array($0.utf8) } }
    }

    var identifiers: [IdentifierKind: Set<String>] {
        var result: [IdentifierKind: Set<String>] = [:]
        for (index, kind) in IdentifierKind.allCases.enumerated() where !values[index].isEmpty {
            result[kind] = Set(values[index].map { String(decoding: $0, as: UTF8.self) })
        }
        return result
    }

    /// Whether any id field of the line holds a followed id.
    func matches(_ line: UnsafeRawBufferPointer, _ found: [Range<Int>?]) -> Bool {
        for kind in values.indices {
            if let range = found[kind], contains(kind, line, range) { return true }
        }
        return false
    }

    /// Adds the line's other ids; true when one was new.
    mutating func learn(_ line: UnsafeRawBufferPointer, _ found: [Range<Int>?]) -> Bool {
        var learned = false
        for kind in values.indices {
            guard let range = found[kind], !range.isEmpty, !contains(kind, line, range) else { continue }
            values[kind].append(Array(UnsafeRawBufferPointer(rebasing: line[range])))
            learned = true
        }
        return learned
    }

    private func contains(_ kind: Int, _ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        values[kind].contains { bytesEqual($0, line, range) }
    }
}
