import DalstonBroker
import DalstonPipeline
import Foundation
import HTTPTypes
import Hummingbird

/// `GET /v1/audio/transcriptions/{id}/tasks/{task_id}/artifacts`: what a task was given and
/// what it gave back, as the original serves it (`request`, `response`), with every stored file
/// among them listed and downloadable from `…/artifacts/{name}` while it is kept.
struct TaskArtifactsAPI: Sendable {
    let jobs: JobService
    let guards: RouteGuards

    /// Mounted at `/v1/audio/transcriptions`.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .jobs)
        routes.get("{id}/tasks/{task_id}/artifacts") { _, context in
            let (record, stage) = try await self.task(context)
            return try await TaskArtifactsResponse(record, stage: stage, graph: try Self.graph(record), artifacts: jobs.artifacts)
        }
        routes.get("{id}/tasks/{task_id}/artifacts/{name}") { _, context in
            let (record, stage) = try await self.task(context)
            let name = try context.parameters.require("name")
            let listed = try await TaskArtifactsResponse(record, stage: stage, graph: try Self.graph(record), artifacts: jobs.artifacts).artifacts
            guard let artifact = listed.first(where: { $0.name == name && $0.available }) else {
                throw APIError(.notFound, code: "artifact_not_found", message: "task \(record.id)_\(stage) has no stored artifact \(name.prefix(64)); GET its artifacts lists them")
            }
            let reference = ArtifactReference(jobID: record.id, name: artifact.name)
            let type = name.hasSuffix(".json") ? "application/json" : NativeAPI.audioContentType(name)
            return try await ArtifactDownload.response(jobs.artifacts, reference, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(name)\""])
        }
        return routes
    }

    /// The job (if the caller's tenant may see it) and the stage of the task named in the path.
    private func task(_ context: GatewayRequestContext) async throws -> (JobRecord, String) {
        let id = try context.parameters.require("id")
        let taskID = try context.parameters.require("task_id")
        guard let record = try await jobs.record(id, visibleTo: context.tenant) else { throw APIError.notFound("no transcription job \(id.prefix(64))") }
        guard let planned = try Self.graph(record).tasks.first(where: { $0.taskID == taskID }) else {
            throw APIError(.notFound, code: "task_not_found", message: "job \(id) has no task \(taskID.prefix(80)); GET /v1/audio/transcriptions/\(id)/tasks lists them")
        }
        guard let state = record.tasks[planned.stage], state.status != .waiting else {
            throw APIError(.badRequest, code: "no_artifacts", message: "task \(taskID) has not started yet: it has no artifacts")
        }
        return (record, planned.stage)
    }

    static func graph(_ record: JobRecord) throws -> JobGraph {
        do {
            return try JobGraph.plan(for: record)
        } catch {
            throw APIError(.internalServerError, code: "graph_invalid", message: "job \(record.id)'s graph cannot be built: \(error.description)")
        }
    }
}

/// The body of `…/tasks/{task_id}/artifacts`.
struct TaskArtifactsResponse: ResponseEncodable {
    struct Artifact: Encodable {
        let name: String
        /// `input` or `output`.
        let role: String
        let sizeBytes: Int?
        /// Whether it is still stored (inputs and intermediates go once the job no longer needs them).
        let available: Bool
        let url: String?

        enum CodingKeys: String, CodingKey {
            case name, role, available, url
            case sizeBytes = "size_bytes"
        }
    }

    let taskID: String
    let jobID: String
    let stage: String
    let engineID: String
    let status: String
    let attempt: Int
    /// What the task read: the job's audio for the first stage, else its inputs' outputs.
    let request: [String: JSONValue]
    /// Its engine's report: the output, or the error.
    let response: [String: JSONValue]?
    let artifacts: [Artifact]

    init(_ record: JobRecord, stage: String, graph: JobGraph, artifacts store: any ArtifactStore) async throws(ArtifactError) {
        let planned = graph.tasks.first { $0.stage == stage }
        let state = record.tasks[stage]
        taskID = "\(record.id)_\(stage)"
        jobID = record.id
        self.stage = stage
        engineID = planned?.engineID ?? ""
        status = state?.status.rawValue ?? TaskStatus.waiting.rawValue
        attempt = state?.attempt ?? 0
        var request: [String: JSONValue] = [:]
        if planned?.inputs.isEmpty ?? true, let audio = record.audio { request["audio"] = .string(audio.key) }
        for input in planned?.inputs ?? [] {
            if case .succeeded(let output)? = record.tasks[input]?.currentReport?.outcome { request[input] = .object(output) }
        }
        self.request = request
        switch state?.currentReport?.outcome {
        case .succeeded(let output)?: response = output
        case .failed(let failure)?: response = ["error": .string(failure.message), "retryable": .bool(failure.retryable)]
        case .deadLettered(let reason)?: response = ["error": .string(reason)]
        case nil: response = nil
        }
        let jobID = record.id
        /// The job's artifact keys in a value of the request or the response, in a stable order.
        func references(_ value: JSONValue) -> [ArtifactReference] {
            switch value {
            case .string(let text):
                guard let reference = ArtifactReference(key: text), reference.jobID == jobID else { return [] }
                return [reference]
            case .array(let items): return items.flatMap(references)
            case .object(let fields): return fields.keys.sorted().flatMap { references(fields[$0] ?? .null) }
            default: return []
            }
        }
        var seen: Set<String> = []
        var artifacts: [Artifact] = []
        for (role, value) in [("input", request), ("output", response ?? [:])] {
            for reference in references(.object(value)) where seen.insert(reference.name).inserted {
                let size = try await store.size(of: reference)
                artifacts.append(Artifact(
                    name: reference.name, role: role, sizeBytes: size, available: size != nil,
                    url: size == nil ? nil : "/v1/audio/transcriptions/\(jobID)/tasks/\(jobID)_\(stage)/artifacts/\(reference.name)"))
            }
        }
        self.artifacts = artifacts
    }

    enum CodingKeys: String, CodingKey {
        case stage, status, attempt, request, response, artifacts
        case taskID = "task_id"
        case jobID = "job_id"
        case engineID = "engine_id"
    }
}
