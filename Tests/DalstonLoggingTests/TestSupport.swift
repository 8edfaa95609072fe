import DalstonLogging
import DalstonTestSupport
import Foundation
import Logging

/// A pipeline writing into memory, so tests read exactly what would reach stdout.
struct CapturedLogging {
    let pipeline: LogPipeline
    let recorder: RecordingLineWriter

    init(format: LogFormat = .json, level: String = "trace", colors: Bool = false, customize: (inout LoggingConfiguration) -> Void = { _ in }) throws {
        let recorder = RecordingLineWriter()
        var configuration = LoggingConfiguration(
            service: "test", format: format, levels: try LogLevelPolicy.parse(level), colors: colors, writer: recorder)
        customize(&configuration)
        self.pipeline = LogPipeline(configuration: configuration)
        self.recorder = recorder
    }

    func logger(_ label: String = "dalston.test") -> Logger {
        pipeline.makeLogger(label: label)
    }

    var lines: [String] { recorder.lines }

    func objects() throws -> [[String: Any]] {
        try lines.map(JSONLine.object)
    }
}

enum JSONLine {
    struct NotAnObject: Error { let line: String }

    static func object(_ line: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw NotAnObject(line: line)
        }
        return object
    }

    /// The top-level keys in the order they appear in the text (JSONSerialization forgets order).
    static func topLevelKeys(_ line: String) -> [String] {
        var keys: [String] = []
        var depth = 0
        var inString = false
        var escaped = false
        var current: [UInt8] = []
        var expectingKey = false
        for byte in line.utf8 {
            if inString {
                if escaped { escaped = false; current.append(byte); continue }
                if byte == UInt8(ascii: "\\") { escaped = true; current.append(byte); continue }
                if byte == UInt8(ascii: "\"") {
                    inString = false
                    if expectingKey && depth == 1 { keys.append(String(decoding: current, as: UTF8.self)) }
                    expectingKey = false
                    continue
                }
                current.append(byte)
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true; current = []
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; expectingKey = byte == UInt8(ascii: "{")
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): expectingKey = depth == 1 || expectingKey
            case UInt8(ascii: ":"): expectingKey = false
            default: break
            }
        }
        return keys
    }
}

