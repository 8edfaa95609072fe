import DalstonBroker
import Foundation
import Logging

/// Re-emits a runner's stderr through the engine's logger: a JSON line (the runner's log format)
/// keeps its level, event and fields, so it reaches the engine's output (JSON or console, with
/// the service name) and `dalston logs` finds it by `request_id`; anything else (a Python
/// traceback) is logged as `runner_output`. The logger escapes every value, so no runner output can
/// break or forge a line.
struct RunnerLogRelay: Sendable {
    let logger: Logger

    /// Fields the engine's own log line sets; the runner's copies are dropped.
    private static let reserved: Set<String> = ["timestamp", "level", "event", "service", "logger", "message"]

    func relay(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return }
        guard trimmed.first == "{", let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(trimmed.utf8)),
            let event = object["event"]?.stringValue
        else {
            logger.warning("runner_output", metadata: ["line": .string(String(trimmed.prefix(4000)))])
            return
        }
        var metadata: Logger.Metadata = [:]
        for (key, value) in object where !Self.reserved.contains(key) {
            metadata[key] = Self.metadataValue(value)
        }
        let level = object["level"]?.stringValue.flatMap(Self.level) ?? .info
        logger.log(level: level, "\(event)", metadata: metadata)
    }

    private static func level(_ name: String) -> Logger.Level? {
        name == "warn" ? .warning : Logger.Level(rawValue: name)
    }

    private static func metadataValue(_ value: JSONValue) -> Logger.MetadataValue {
        switch value {
        case .null: .string("null")
        case .bool(let flag): .stringConvertible(flag)
        case .number(let number):
            number.rounded() == number && abs(number) < 1e15 ? .stringConvertible(Int(number)) : .stringConvertible(number)
        case .string(let text): .string(text)
        case .array(let list): .array(list.map(metadataValue))
        case .object(let object): .dictionary(object.mapValues(metadataValue))
        }
    }
}
