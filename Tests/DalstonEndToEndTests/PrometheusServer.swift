import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real Prometheus server (Debian's `prometheus`) on a free loopback port, scraping the given
/// targets every second and evaluating the project's rule files.
final class PrometheusServer: @unchecked Sendable {
    static let executable = findExecutable(["/usr/bin/prometheus", "/usr/local/bin/prometheus"])
    static let promtool = findExecutable(["/usr/bin/promtool", "/usr/local/bin/promtool"])
    static var shouldRun: Bool { (executable != nil && promtool != nil) || TestTools.areRequired }

    let port: Int
    let process: ServiceProcess

    init(targets: [String: String], ruleFiles: [URL], directory: URL) async throws {
        guard let executable = Self.executable else {
            throw TestSpeech.Unavailable(description: "prometheus is not installed (apt-get install prometheus); .ci/run installs it")
        }
        port = try freeTCPPort()
        let jobs = targets.sorted { $0.key < $1.key }.map { name, target in
            """
              - job_name: "\(name)"
                static_configs:
                  - targets: ["\(target)"]
            """
        }
        let config = """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
            \(ruleFiles.map { "  - \"\($0.path)\"" }.joined(separator: "\n"))
            scrape_configs:
            \(jobs.joined(separator: "\n"))

            """
        let configFile = directory.appendingPathComponent("prometheus.yml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        process = try ServiceProcess(
            name: "prometheus", executable: executable,
            arguments: [
                "--config.file=\(configFile.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("tsdb").path)",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ],
            environment: [:], logDirectory: directory)
        let ready = await eventually(timeout: .seconds(30)) { (try? await self.get("-/ready")) != nil }
        guard ready else { throw TestSpeech.Unavailable(description: "prometheus did not start: \(process.rawLines().suffix(5))") }
    }

    func stop() { process.terminate() }

    private func get(_ path: String, query: [URLQueryItem] = []) async throws -> Data {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/\(path)")
        components?.queryItems = query.isEmpty ? nil : query
        // URLComponents leaves "+" alone, and form decoding reads it as a space (le="+Inf").
        let encoded = components?.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        components?.percentEncodedQuery = encoded
        guard let url = components?.url else { throw URLError(.badURL) }
        let (data, response) = try await URLSession.shared.data(from: url)
        guard let status = (response as? HTTPURLResponse)?.statusCode, status < 300 else {
            throw QueryFailed(description: "\(path): HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0): \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    struct QueryFailed: Error, CustomStringConvertible {
        let description: String
    }

    struct Series {
        let labels: [String: String]
        let value: Double
    }

    /// An instant query; throws when Prometheus rejects it (e.g. it does not parse).
    func query(_ expression: String) async throws -> [Series] {
        let data = try await get("api/v1/query", query: [URLQueryItem(name: "query", value: expression)])
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], object["status"] as? String == "success",
              let payload = object["data"] as? [String: Any]
        else { throw QueryFailed(description: "\(expression): \(String(decoding: data, as: UTF8.self))") }
        if payload["resultType"] as? String == "scalar", let pair = payload["result"] as? [Any] {
            return [Series(labels: [:], value: Double(pair.last as? String ?? "") ?? .nan)]
        }
        return (payload["result"] as? [[String: Any]] ?? []).map { entry in
            let pair = entry["value"] as? [Any] ?? []
            return Series(labels: entry["metric"] as? [String: String] ?? [:], value: Double(pair.last as? String ?? "") ?? .nan)
        }
    }

    struct Rule {
        let name: String
        let type: String
        let health: String
        let lastError: String
        /// Alerts only: inactive, pending or firing.
        let state: String
    }

    /// Every loaded rule with the health of its last evaluation.
    func rules() async throws -> [Rule] {
        let data = try await get("api/v1/rules")
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let groups = (object?["data"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        return groups.flatMap { group in
            (group["rules"] as? [[String: Any]] ?? []).map { rule in
                Rule(name: rule["name"] as? String ?? "", type: rule["type"] as? String ?? "", health: rule["health"] as? String ?? "",
                     lastError: rule["lastError"] as? String ?? "", state: rule["state"] as? String ?? "")
            }
        }
    }

    /// The single value of `expression`, or nil when it has no (or several) series.
    func value(_ expression: String) async -> Double? {
        guard let series = try? await query(expression), series.count == 1 else { return nil }
        return series[0].value
    }
}
