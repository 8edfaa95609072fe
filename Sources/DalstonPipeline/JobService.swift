import DalstonBroker
import DalstonLogging
import Foundation
import Logging
import Tracing

/// A transcription request as the API receives it.
public struct JobSubmission: Sendable {
    public var audio: [UInt8]
    public var filename: String
    public var language: String
    public var modelID: String
    public var timestampsGranularity: String
    /// The correlation id of the HTTP request (or connection) that created the job.
    public var requestID: String

    public init(audio: [UInt8], filename: String, language: String = "en", modelID: String = "pocketsphinx-en-us",
                timestampsGranularity: String = "word", requestID: String) {
        self.audio = audio
        self.filename = filename
        self.language = language
        self.modelID = modelID
        self.timestampsGranularity = timestampsGranularity
        self.requestID = requestID
    }
}

/// A job as the API shows it.
public struct JobView: Sendable, Equatable {
    public var id: String
    public var status: JobStatus
    public var requestID: String
    public var createdAt: String
    public var completedAt: String?
    public var progress: Int
    public var currentStage: String?
    public var language: String
    public var modelID: String
    public var error: String?
    public var processingTimeSeconds: Double?
    /// Present once completed.
    public var transcript: Transcript?
}

/// Creates, reads, lists and cancels jobs through the broker: the gateway's and the CLI's view of
/// the pipeline.
public struct JobService: Sendable {
    public let broker: any Broker
    public let artifacts: ArtifactStore
    private let logger: Logger

    public init(broker: any Broker, artifacts: ArtifactStore, logger: Logger = Logger(label: "dalston.jobs")) {
        self.broker = broker
        self.artifacts = artifacts
        self.logger = logger
    }

    /// Stores the audio, records the job and announces it with `job_created`. On any failure
    /// nothing of the job is left behind.
    public func submit(_ submission: JobSubmission) async throws -> JobView {
        let jobID = "job_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return try await withLogContext(["request_id": "\(submission.requestID)", "job_id": "\(jobID)"]) {
            try await store(submission, jobID: jobID)
        }
    }

    private func store(_ submission: JobSubmission, jobID: String) async throws -> JobView {
        let created = Date()
        let extension_ = URL(fileURLWithPath: submission.filename).pathExtension.lowercased()
        do {
            let audioURL = try await withTracedSpan("gateway.store_audio") { span in
                span.attributes["dalston.job_id"] = jobID
                span.attributes["dalston.audio_bytes"] = submission.audio.count
                return try artifacts.write(submission.audio, jobID: jobID, name: "audio.\(extension_.isEmpty ? "wav" : extension_)")
            }
            var fields: [String: String] = [
                JobField.id: jobID, JobField.status: JobStatus.pending.rawValue, JobField.requestID: submission.requestID,
                JobField.createdAt: Self.timestamp(created), JobField.updatedAt: Self.timestamp(created),
                JobField.language: submission.language, JobField.modelID: submission.modelID,
                JobField.timestampsGranularity: submission.timestampsGranularity, JobField.audioPath: audioURL.path,
                JobField.audioBytes: String(submission.audio.count), JobField.filename: submission.filename, JobField.progress: "0",
            ]
            try await withTracedSpan("gateway.create_job") { span in
                span.attributes["dalston.job_id"] = jobID
                span.attributes["dalston.request_id"] = submission.requestID
                // The job keeps its trace: work the orchestrator starts later without an event
                // (sweeps, retries) still joins the trace of the request that created it.
                var traceContext: [String: String] = [:]
                MessageTracing.inject(into: &traceContext)
                fields[JobField.traceparent] = traceContext[MessageMetadataKey.traceparent]
                fields[JobField.tracestate] = traceContext[MessageMetadataKey.tracestate]
                try await broker.saveState(.job(jobID), fields: fields)
                try await broker.addToIndex(PipelineIndex.jobs, member: jobID, score: created.timeIntervalSince1970)
                try await broker.addToIndex(PipelineIndex.activeJobs, member: jobID, score: created.timeIntervalSince1970)
            }
            try await withTracedSpan("gateway.publish_job_created", ofKind: .producer) { span in
                span.attributes["dalston.job_id"] = jobID
                span.attributes["messaging.operation.type"] = "send"
                span.attributes["messaging.destination.name"] = "events"
                var metadata = [MessageMetadataKey.requestID: submission.requestID, MessageMetadataKey.jobID: jobID]
                MessageTracing.inject(into: &metadata)
                try await broker.publish(EventEnvelope(
                    type: PipelineEvent.jobCreated, jobID: jobID,
                    data: ["audio_bytes": .number(Double(submission.audio.count)), "language": .string(submission.language)],
                    metadata: metadata))
            }
            logger.info("job_created", metadata: ["audio_bytes": .stringConvertible(submission.audio.count), "filename": "\(submission.filename)"])
            return try await job(jobID) ?? JobView(id: jobID, status: .pending, requestID: submission.requestID, createdAt: Self.timestamp(created),
                                                   progress: 0, language: submission.language, modelID: submission.modelID)
        } catch {
            artifacts.removeJob(jobID)
            try? await broker.deleteState(.job(jobID))
            try? await broker.removeFromIndex(PipelineIndex.jobs, member: jobID)
            try? await broker.removeFromIndex(PipelineIndex.activeJobs, member: jobID)
            logger.error("job_not_created", metadata: ["error": "\(error)"])
            throw error
        }
    }

    public func job(_ jobID: String) async throws -> JobView? {
        let record = try await broker.state(.job(jobID))
        guard let statusText = record[JobField.status], let status = JobStatus(rawValue: statusText) else { return nil }
        var view = JobView(
            id: jobID, status: status, requestID: record[JobField.requestID] ?? "", createdAt: record[JobField.createdAt] ?? "",
            completedAt: record[JobField.completedAt], progress: Int(record[JobField.progress] ?? "0") ?? 0,
            currentStage: record[JobField.currentStage].flatMap { $0.isEmpty ? nil : $0 },
            language: record[JobField.language] ?? "en", modelID: record[JobField.modelID] ?? "",
            error: record[JobField.error], processingTimeSeconds: record[JobField.processingTimeSeconds].flatMap(Double.init))
        if status == .completed, let path = record[JobField.resultPath], !path.isEmpty {
            view.transcript = try? JSONDecoder().decode(Transcript.self, from: Data(artifacts.read(URL(fileURLWithPath: path))))
        }
        return view
    }

    public func recentJobs(limit: Int) async throws -> [JobView] {
        var views: [JobView] = []
        for id in try await broker.indexMembers(PipelineIndex.jobs, limit: limit) {
            if var view = try await job(id) {
                view.transcript = nil  // listings stay small
                views.append(view)
            }
        }
        return views
    }

    /// Asks the orchestrator to cancel; returns the job as it is now (nil when unknown).
    public func requestCancel(_ jobID: String, requestID: String) async throws -> JobView? {
        guard let view = try await job(jobID) else { return nil }
        if !view.status.isFinal {
            var metadata = [MessageMetadataKey.requestID: requestID, MessageMetadataKey.jobID: jobID]
            MessageTracing.inject(into: &metadata)
            try await broker.publish(EventEnvelope(type: PipelineEvent.jobCancelRequested, jobID: jobID, metadata: metadata))
        }
        return view
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
