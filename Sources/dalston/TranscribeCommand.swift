import ArgumentParser
import DalstonBroker
import DalstonRuntime
import DalstonEngines
import DalstonLogging
import DalstonObservability
import DalstonGateway
import DalstonOrchestrator
import DalstonModels
import DalstonPipeline
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import ServiceLifecycle

/// `dalston transcribe FILE`: submit, wait with a progress line, print the transcript.
struct TranscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe a WAV file and print the text.",
        discussion: "Sends the file to a running gateway (--server), or with --embedded starts Dalston in this process for the one file.")

    @Argument(help: "A WAV file.")
    var file: String

    @Option(help: "The gateway to use.")
    var server = "http://127.0.0.1:8000"

    @Flag(help: "Run the whole system in this process for this file (no server, no Redis needed).")
    var embedded = false

    @Option(help: "API key, when the gateway requires one (or set DALSTON_API_KEY).")
    var apiKey: String?

    @Flag(help: "Print the whole job as JSON instead of the text.")
    var json = false

    @Option(help: "The model (dalston models list); default: the deployment's default (Whisper where installed).")
    var model: String?

    @Option(help: "The spoken language (en, de, ...); default: detected by a multilingual model, English otherwise.")
    var language: String?

    func run() async throws {
        let audio: Data
        do {
            audio = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        if embedded {
            try await runEmbedded(audio)
        } else {
            try await runAgainstServer(audio, server: server)
        }
    }

    private func runEmbedded(_ audio: Data) async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["REDIS_URL"] = nil
        environment["LOG_LEVEL"] = environment["LOG_LEVEL"] ?? "warning"
        environment["METRICS_ENABLED"] = "false"  // a one-shot command serves no /metrics
        let observability = Observability.configureOrExit(service: "dalston", environment: environment)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let deployment = Deployment(
            environment: environment, broker: InMemoryBroker(), artifacts: FileArtifactStore(root: directory),
            metrics: observability.metrics, tracing: observability.tracingService)
        let catalogue = ModelCatalogue(registry: deployment.models)
        let spoken = language.flatMap(ModelCatalogue.normalizedLanguage)
        let chosen: ModelInfo
        do {
            chosen = try catalogue.resolve(model ?? "auto", api: .dalston, language: spoken, param: "model")
        } catch {
            throw ValidationError(error.message)
        }
        // Every engine of the job's graph must run here; the others are not started.
        var submission = JobSubmission(audio: Array(audio), filename: file, requestID: "req_cli_\(UUID().uuidString.prefix(8).lowercased())")
        submission.use(chosen, language: spoken)
        let needed = [EngineKind.audioPrepare, submission.recognizer ?? EngineKind.transcribe, EngineKind.merge]
        for engine in needed {
            if let reason = deployment.engines.registration(engine)?.unavailableReason { throw ValidationError("model \(chosen.id) needs engine \(engine): \(reason)") }
        }
        let running = try deployment.start([.orchestrator] + needed.map { .engine($0) })
        do {
            let jobs = deployment.jobService()
            let job = try await jobs.submit(submission)
            if let view = try await jobs.waitForFinalState(job.id, timeout: .seconds(600)) {
                try printResult(JobResponse(view))
            }
        } catch {
            await running.stop()
            throw error
        }
        await running.stop()
    }

    private func runAgainstServer(_ audio: Data, server: String) async throws {
        guard let base = URL(string: server) else { throw ValidationError("invalid --server URL \(server)") }
        var form = MultipartFormBody()
        form.addFile("file", filename: URL(fileURLWithPath: file).lastPathComponent, contents: Array(audio))
        if let model { form.addField("model", model) }
        if let language { form.addField("language", language) }
        let body = Data(form.encoded)
        var request = URLRequest(url: base.appendingPathComponent("v1/audio/transcriptions"))
        request.httpMethod = "POST"
        request.setValue(form.contentType, forHTTPHeaderField: "Content-Type")
        if let key = apiKey ?? ProcessInfo.processInfo.environment["DALSTON_API_KEY"] { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let created = try await send(request, body: body)
        guard let id = (try? JSONDecoder().decode(JobCreatedResponse.self, from: created))?.id else {
            throw ValidationError("the gateway did not return a job id: \(String(decoding: created, as: UTF8.self))")
        }
        var last = ""
        while true {
            var poll = URLRequest(url: base.appendingPathComponent("v1/audio/transcriptions/\(id)"))
            if let key = apiKey ?? ProcessInfo.processInfo.environment["DALSTON_API_KEY"] { poll.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
            let data = try await send(poll, body: nil)
            let job: JobResponse
            do {
                job = try JSONDecoder().decode(JobResponse.self, from: data)
            } catch {
                throw ValidationError("the gateway answered with a job this client cannot read: \(error)")
            }
            last = progressLine(status: job.status, stage: job.currentStage, progress: job.progress, previous: last)
            if ["completed", "failed", "cancelled"].contains(job.status) {
                clearProgress()
                try printResult(job)
                return
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// The body of a 2xx answer; anything else is an error with the gateway's message.
    private func send(_ request: URLRequest, body: Data?) async throws -> Data {
        let (data, response): (Data, URLResponse)
        do {
            if let body {
                (data, response) = try await URLSession.shared.upload(for: request, from: body)
            } else {
                (data, response) = try await URLSession.shared.data(for: request)
            }
        } catch {
            throw ValidationError("cannot reach the gateway at \(server): \(error.localizedDescription); start it with `dalston up`, or use --embedded")
        }
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            let message = (try? JSONDecoder().decode(NativeErrorBody.self, from: data))?.error.message ?? String(decoding: data, as: UTF8.self)
            throw ValidationError("the gateway answered \(http.statusCode): \(message)")
        }
        return data
    }

    private func progressLine(status: String, stage: String?, progress: Int, previous: String) -> String {
        let line = "\(status)\(stage.map { " · \($0)" } ?? "") · \(progress)%"
        if line != previous && isatty(2) == 1 {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
        }
        return line
    }

    private func clearProgress() {
        if isatty(2) == 1 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func printResult(_ job: JobResponse) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(job), as: UTF8.self))
        } else if job.status == "completed" {
            print(job.text ?? "")
        }
        if job.status != "completed" {
            throw ValidationError("transcription \(job.status): \(job.error?.message ?? job.status)")
        }
    }
}
