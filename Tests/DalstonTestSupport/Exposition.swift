import Foundation

/// The samples of a Prometheus text exposition, for assertions: `samples["name"]` lists each
/// series' labels and value.
public struct Exposition: Sendable {
    public struct Sample: Equatable, Sendable {
        public let labels: [String: String]
        public let value: Double
    }

    public let text: String
    public private(set) var samples: [String: [Sample]] = [:]
    public private(set) var help: [String: String] = [:]
    public private(set) var types: [String: String] = [:]

    public init(_ bytes: [UInt8]) {
        self.init(String(decoding: bytes, as: UTF8.self))
    }

    public init(_ text: String) {
        self.text = text
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                help[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                types[String(parts[0])] = String(parts[1])
            } else if !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) {
                let series = line[..<space]
                var labels: [String: String] = [:]
                var name = String(series)
                if let brace = series.firstIndex(of: "{") {
                    name = String(series[..<brace])
                    // Values here never hold `",` so a simple split is enough for tests.
                    for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].components(separatedBy: "\",") {
                        let keyValue = pair.split(separator: "=", maxSplits: 1)
                        labels[String(keyValue[0])] = keyValue[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    }
                }
                samples[name, default: []].append(Sample(labels: labels, value: value))
            }
        }
    }

    /// The value of the one series of `name` whose labels include `labels`.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = (samples[name] ?? []).filter { sample in labels.allSatisfy { sample.labels[$0.key] == $0.value } }
        return matching.count == 1 ? matching[0].value : nil
    }
}
