import Foundation

/// A request's lines as a timeline for people: time since the first line, where the line came
/// from, level, event, and the fields that tell the story (ids other than the request's own
/// shortened, noise left out), coloured on a terminal. Values are cleaned of control characters,
/// so a logged value cannot forge a line of the timeline.
package struct TimelineRenderer {
    package var colors: Bool

    package init(colors: Bool) {
        self.colors = colors
    }

    /// Fields shown in their own columns or not at all.
    static let hidden: Set<String> = ["timestamp", "level", "service", "logger", "event", "span_id", "source", "file", "line", "function"]

    package func render(_ entries: [LogEntry], write: (String) -> Void) {
        guard let first = entries.first.flatMap({ Self.date($0.timestamp) }) else { return }
        let objects = entries.map { Self.object($0.raw) }
        // The request id shared by every line is said once, in the header.
        let requestIDs = Set(objects.compactMap { $0["request_id"] as? String })
        let jobIDs = Set(objects.compactMap { $0["job_id"] as? String })
        let singleJob = jobIDs.count == 1 ? jobIDs.first : nil
        if let common = requestIDs.count == 1 ? requestIDs.first : nil {
            let job = singleJob.map { " · job \(Self.clean($0))" } ?? ""
            write(paint("request \(Self.clean(common))\(job) · \(entries.count) lines · from \(Self.clean(entries[0].timestamp))", "1"))
        }
        for (entry, object) in zip(entries, objects) {
            let offset = Self.date(entry.timestamp).map { $0.timeIntervalSince(first) } ?? 0
            let level = (object["level"] as? String) ?? "?"
            let source = Self.source(object)
            let event = Self.clean(object["event"] as? String ?? "")
            var fields: [String] = []
            for key in object.keys.sorted(by: Self.fieldOrder) where !Self.hidden.contains(key) {
                if key == "request_id", requestIDs.count == 1 { continue }
                if key == "job_id", singleJob != nil, requestIDs.count == 1 { continue }
                if key == "task_id", let job = singleJob, let task = object[key] as? String, task.hasPrefix(job + "_") {
                    fields.append("task_id=…\(Self.clean(String(task.dropFirst(job.count))))")
                    continue
                }
                fields.append("\(key)=\(Self.value(object[key]))")
            }
            let time = String(format: "%+9.3fs", offset)
            write("\(paint(time, "2")) \(pad(source, 24)) \(paint(pad(level, 8), Self.levelColor(level))) \(pad(event, 26)) \(paint(fields.joined(separator: " "), "2"))")
            if let error = object["error"] as? [String: Any], let message = error["message"] as? String {
                write(paint("            └ \(Self.clean(error["type"] as? String ?? "error")): \(Self.clean(message))", Self.levelColor("error")))
            }
        }
    }

    /// `engine.transcribe`, `gateway.http`: the logger without the `dalston.` prefix, or the service.
    static func source(_ object: [String: Any]) -> String {
        let logger = object["logger"] as? String ?? ""
        let name = logger.hasPrefix("dalston.") ? String(logger.dropFirst("dalston.".count)) : logger
        return clean(name.isEmpty ? object["service"] as? String ?? "?" : name)
    }

    /// Ids first, then the rest alphabetically.
    static func fieldOrder(_ a: String, _ b: String) -> Bool {
        let rank = ["job_id": 0, "task_id": 1, "session_id": 2, "stage": 3, "request_id": 4, "trace_id": 9]
        return (rank[a] ?? 5, a) < (rank[b] ?? 5, b)
    }

    static func value(_ value: Any?) -> String {
        switch value {
        case let text as String: return clean(text.count > 80 ? String(text.prefix(77)) + "..." : text)
        case let number as NSNumber: return number.stringValue
        case let object as [String: Any]: return clean((object["message"] as? String).map { String($0.prefix(80)) } ?? "{…}")
        case .none: return ""
        default: return "…"
        }
    }

    /// Control characters (newlines, escapes) shown as `\u{..}`, never written as they are.
    static func clean(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func object(_ raw: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] ?? [:]
    }

    /// Dalston's timestamps carry microseconds, which ISO-8601 parsers cut to milliseconds: the
    /// fraction is read separately and added.
    static func date(_ text: String) -> Date? {
        guard let dot = text.firstIndex(of: "."), let end = text.firstIndex(where: { $0 == "Z" || $0 == "+" }), dot < end else {
            return try? Date(text, strategy: .iso8601)
        }
        let fraction = text[text.index(after: dot)..<end]
        guard let whole = try? Date(String(text[..<dot]) + String(text[end...]), strategy: .iso8601), let value = Double("0." + fraction) else { return nil }
        return whole.addingTimeInterval(value)
    }

    static func levelColor(_ level: String) -> String {
        switch level {
        case "trace", "debug": "2"
        case "info": "32"
        case "notice": "36"
        case "warning": "33"
        default: "31;1"
        }
    }

    private func paint(_ text: String, _ code: String) -> String {
        colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
