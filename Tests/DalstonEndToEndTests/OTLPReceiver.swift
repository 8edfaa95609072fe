import DalstonTestSupport
import Foundation

/// The project's OTLP/HTTP trace receiver (`Tests/Scripts/otlp_receiver.py`, decoding with
/// Python's `opentelemetry-proto`) on a free loopback port, writing one JSON line per span.
final class OTLPReceiver: @unchecked Sendable {
    static let script = repositoryRoot.appendingPathComponent("Tests/Scripts/otlp_receiver.py")
    /// Whether the receiver can run here; always required under CI (`.ci/run` installs it).
    static func shouldRun() async -> Bool {
        if TestTools.areRequired { return true }
        return await TestTools.pythonCanImport("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    }

    let port: Int
    let spansFile: URL
    private var process: ServiceProcess?
    private let directory: URL

    init(directory: URL) async throws {
        self.directory = directory
        port = try freeTCPPort()
        spansFile = directory.appendingPathComponent("spans.jsonl")
        try start()
    }

    /// A receiver in a fresh temporary directory, listening.
    static func started() async throws -> OTLPReceiver {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-traces-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let receiver = try await OTLPReceiver(directory: directory)
        try await receiver.waitUntilListening()
        return receiver
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    func start() throws {
        process = try ServiceProcess(
            name: "otlp-receiver", executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: [TestTools.python, Self.script.path, "--port", "\(port)", "--output", spansFile.path, "--no-install"],
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], logDirectory: directory)
    }

    func waitUntilListening() async throws {
        let listening = await eventually(timeout: .seconds(30)) { self.process?.rawLines().contains("listening \(self.port)") == true }
        guard listening else { throw TestSpeech.Unavailable(description: "the OTLP receiver did not start: \(process?.rawLines().suffix(5) ?? [])") }
    }

    func stop() { process?.terminate() }

    /// Stops the receiver and waits until it is gone: the collector is down from now on.
    func stopAndWait() async { await process?.terminateAndWait() }

    struct Span {
        let object: [String: Any]
        var traceID: String { object["trace_id"] as? String ?? "" }
        var spanID: String { object["span_id"] as? String ?? "" }
        var parentSpanID: String { object["parent_span_id"] as? String ?? "" }
        var name: String { object["name"] as? String ?? "" }
        var kind: String { object["kind"] as? String ?? "" }
        var serviceName: String { object["service_name"] as? String ?? "" }
        var status: String { object["status_code"] as? String ?? "" }
        var attributes: [String: Any] { object["attributes"] as? [String: Any] ?? [:] }
        var events: [[String: Any]] { object["events"] as? [[String: Any]] ?? [] }
        func attribute(_ key: String) -> String? { attributes[key].map { "\($0)" } }
    }

    func spans() -> [Span] {
        ((try? String(contentsOf: spansFile, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]).map(Span.init(object:))
        }
    }
}
