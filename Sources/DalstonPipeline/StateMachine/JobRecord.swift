package import DalstonBroker
import DalstonCore
import DalstonPropagation
package import Foundation

/// A job as the state store keeps it: one record with the job's fields and each task's state.
package struct JobRecord: Sendable, Equatable {
    package var id: String
    package var status: JobStatus
    package var requestID: String
    package var createdAt: Date
    package var updatedAt: Date?
    package var completedAt: Date?
    package var language: String
    package var modelID: String
    package var timestampsGranularity: String
    /// The engine of the transcribe stage (nil: PocketSphinx's, `EngineKind.transcribe`).
    package var recognizer: String?
    /// See `JobField.recognizerOptions`.
    package var recognizerOptions: [String: String] = [:]
    package var audio: ArtifactReference?
    package var audioBytes: Int
    package var filename: String
    package var displayName: String?
    package var audioDurationSeconds: Double?
    package var progress: Int
    package var currentStage: String?
    package var error: String?
    package var errorType: String?
    package var result: ArtifactReference?
    package var processingTimeSeconds: Double?
    package var cancelRequested: Bool
    package var webhookURL: String?
    package var webhookMetadata: String?
    package var retentionDays: Int?
    /// See `JobField.speakerDetection`.
    package var speakerDetection: String?
    /// See `JobField.speakerCounts`.
    package var speakerCounts: [String: Int] = [:]
    /// See `JobField.knownSpeakers`.
    package var knownSpeakers: [KnownSpeaker] = []
    /// See `JobField.audioChannels`.
    package var audioChannels: Int?
    /// See `JobField.channelOutput`.
    package var channelOutput: String?
    /// See `JobField.tenantID`; nil on jobs from before tenants (the default tenant's).
    package var tenantID: String?
    /// See `JobField.ownerKeyID`.
    package var ownerKeyID: String?
    /// `traceparent`/`tracestate` of the request that created the job.
    package var traceContext: [String: String]
    /// Each task's state by stage; a stage not yet scheduled is absent.
    package var tasks: [String: TaskState]
    /// How many changes the orchestrator has made (see `JobField.revision`).
    package var revision: Int

    package init(
        id: String, status: JobStatus = .pending, requestID: String, createdAt: Date = Date(), language: String = "en",
        modelID: String = "", timestampsGranularity: String = "word", audio: ArtifactReference? = nil, audioBytes: Int = 0,
        filename: String = ""
    ) {
        self.id = id
        self.status = status
        self.requestID = requestID
        self.createdAt = createdAt
        self.language = language
        self.modelID = modelID
        self.timestampsGranularity = timestampsGranularity
        self.audio = audio
        self.audioBytes = audioBytes
        self.filename = filename
        self.progress = 0
        self.cancelRequested = false
        self.traceContext = [:]
        self.tasks = [:]
        self.revision = 0
    }

    /// Reads a stored record; `nil` when there is none (or it has no valid status).
    package init?(fields: [String: String]) {
        guard let id = fields[JobField.id], let status = fields[JobField.status].flatMap(JobStatus.init(rawValue:)) else { return nil }
        self.init(
            id: id, status: status, requestID: fields[JobField.requestID] ?? "",
            createdAt: fields[JobField.createdAt].flatMap(Timestamp.date) ?? Date(timeIntervalSince1970: 0),
            language: fields[JobField.language] ?? "en", modelID: fields[JobField.modelID] ?? "",
            timestampsGranularity: fields[JobField.timestampsGranularity] ?? "word",
            audio: fields[JobField.audio].flatMap(ArtifactReference.init(key:)), audioBytes: Int(fields[JobField.audioBytes] ?? "") ?? 0,
            filename: fields[JobField.filename] ?? "")
        updatedAt = fields[JobField.updatedAt].flatMap(Timestamp.date)
        displayName = fields[JobField.displayName].flatMap { $0.isEmpty ? nil : $0 }
        recognizer = fields[JobField.recognizer].flatMap { $0.isEmpty ? nil : $0 }
        recognizerOptions = fields[JobField.recognizerOptions].flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
        audioDurationSeconds = fields[JobField.audioDurationSeconds].flatMap(Double.init)
        completedAt = fields[JobField.completedAt].flatMap(Timestamp.date)
        progress = Int(fields[JobField.progress] ?? "") ?? 0
        currentStage = fields[JobField.currentStage].flatMap { $0.isEmpty ? nil : $0 }
        error = fields[JobField.error]
        errorType = fields[JobField.errorType]
        result = fields[JobField.result].flatMap(ArtifactReference.init(key:))
        processingTimeSeconds = fields[JobField.processingTimeSeconds].flatMap(Double.init)
        cancelRequested = fields[JobField.cancelRequested] == "true"
        webhookURL = fields[JobField.webhookURL]
        webhookMetadata = fields[JobField.webhookMetadata]
        retentionDays = fields[JobField.retentionDays].flatMap(Int.init)
        tenantID = fields[JobField.tenantID].flatMap { $0.isEmpty ? nil : $0 }
        speakerDetection = fields[JobField.speakerDetection].flatMap { $0.isEmpty ? nil : $0 }
        speakerCounts = fields[JobField.speakerCounts].flatMap { try? JSONDecoder().decode([String: Int].self, from: Data($0.utf8)) } ?? [:]
        knownSpeakers = fields[JobField.knownSpeakers].flatMap { try? JSONDecoder().decode([KnownSpeaker].self, from: Data($0.utf8)) } ?? []
        audioChannels = fields[JobField.audioChannels].flatMap { Int($0) }
        channelOutput = fields[JobField.channelOutput].flatMap { $0.isEmpty ? nil : $0 }
        ownerKeyID = fields[JobField.ownerKeyID].flatMap { $0.isEmpty ? nil : $0 }
        revision = Int(fields[JobField.revision] ?? "") ?? 0
        for key in [JobField.traceparent, JobField.tracestate] {
            if let value = fields[key], !value.isEmpty { traceContext[key] = value }
        }
        for (field, value) in fields where field.hasPrefix("task.") {
            let parts = field.split(separator: ".", maxSplits: 2)
            guard parts.count == 3, let name = TaskFieldName(rawValue: String(parts[2])) else { continue }
            tasks[String(parts[1]), default: TaskState()].set(name, value)
        }
    }

    /// The fields of a new record (what `JobStore.create` stores).
    package var fields: [String: String] {
        var fields = [
            JobField.id: id, JobField.status: status.rawValue, JobField.requestID: requestID,
            JobField.createdAt: Timestamp.string(createdAt), JobField.updatedAt: Timestamp.string(updatedAt ?? createdAt),
            JobField.language: language, JobField.modelID: modelID, JobField.timestampsGranularity: timestampsGranularity,
            JobField.audioBytes: String(audioBytes), JobField.filename: filename, JobField.progress: String(progress),
            JobField.revision: String(revision),
        ]
        if let audio { fields[JobField.audio] = audio.key }
        if let displayName { fields[JobField.displayName] = displayName }
        if let recognizer { fields[JobField.recognizer] = recognizer }
        if !recognizerOptions.isEmpty, let encoded = try? JSONEncoder().encode(recognizerOptions) {
            fields[JobField.recognizerOptions] = String(decoding: encoded, as: UTF8.self)
        }
        if let audioDurationSeconds { fields[JobField.audioDurationSeconds] = String(format: "%.3f", audioDurationSeconds) }
        if let webhookURL { fields[JobField.webhookURL] = webhookURL }
        if let webhookMetadata { fields[JobField.webhookMetadata] = webhookMetadata }
        if let retentionDays { fields[JobField.retentionDays] = String(retentionDays) }
        if let tenantID { fields[JobField.tenantID] = tenantID }
        if let speakerDetection { fields[JobField.speakerDetection] = speakerDetection }
        if !speakerCounts.isEmpty, let encoded = try? JSONEncoder().encode(speakerCounts) {
            fields[JobField.speakerCounts] = String(decoding: encoded, as: UTF8.self)
        }
        if !knownSpeakers.isEmpty, let encoded = try? JSONEncoder().encode(knownSpeakers) {
            fields[JobField.knownSpeakers] = String(decoding: encoded, as: UTF8.self)
        }
        if let audioChannels { fields[JobField.audioChannels] = String(audioChannels) }
        if let channelOutput { fields[JobField.channelOutput] = channelOutput }
        if let ownerKeyID { fields[JobField.ownerKeyID] = ownerKeyID }
        fields.merge(traceContext) { _, new in new }
        return fields
    }

    /// Whether the job asked who spoke when.
    package var diarizes: Bool { speakerDetection == SpeakerDetection.diarize }

    /// The channels transcribed one by one, each a speaker, when the job asked for that (nil: the
    /// audio is transcribed as one mixed channel).
    package var transcribedChannels: Int? {
        guard speakerDetection == SpeakerDetection.perChannel, let audioChannels, audioChannels > 1 else { return nil }
        return audioChannels
    }

    /// The tenant whose keys may see the job.
    package var tenant: String { tenantID ?? JobTenancy.defaultTenant }

    /// Whether a caller of `tenant` may see the job (nil: a keyless gateway's caller, who sees all).
    package func isVisible(to tenant: String?) -> Bool {
        Tenancy.isVisible(owner: tenantID, to: tenant)
    }

    /// The indexes of jobs in progress this job is in while it runs.
    package var activeIndexes: [String] {
        [PipelineIndex.activeJobs] + (ownerKeyID.map { [PipelineIndex.activeJobs(ofKey: $0)] } ?? [])
    }

    /// `job_id` and `request_id`, which every message about this job carries.
    package var correlation: [String: String] {
        var metadata = [MessageMetadataKey.jobID: id]
        if !requestID.isEmpty { metadata[MessageMetadataKey.requestID] = requestID }
        return metadata
    }

    /// The correlation fields with the trace context of the request that created the job: what
    /// work started without a message (sweeps, retry timers) continues from.
    package var messageMetadata: [String: String] {
        traceContext.merging(correlation) { _, correlation in correlation }
    }
}

/// One task's state inside its job's record.
package struct TaskState: Sendable, Equatable {
    package var status: TaskStatus = .waiting
    package var attempt = 1
    package var retryAt: Date?
    package var queuedAt: Date?
    package var completedAt: Date?
    /// The outcome of the latest attempt that reported one.
    package var report: TaskReport?

    package init() {}

    /// The report about the current attempt (an older attempt's is history).
    package var currentReport: TaskReport? {
        report.flatMap { $0.attempt == attempt ? $0 : nil }
    }

    /// What the engine returned, once the task has completed.
    package var output: [String: JSONValue]? {
        guard status == .completed, case .succeeded(let output)? = currentReport?.outcome else { return nil }
        return output
    }

    /// Why the current attempt failed, and whether another may help.
    package var failure: TaskFailure? {
        switch currentReport?.outcome {
        case .failed(let failure)?: failure
        case .deadLettered(let reason)?: TaskFailure(message: reason, retryable: false)
        default: nil
        }
    }

    /// The current attempt's error, when it failed.
    package var error: String? { failure?.message }

    package var workerID: String? { currentReport?.workerID }

    mutating func set(_ name: TaskFieldName, _ value: String) {
        switch name {
        case .status: status = TaskStatus(rawValue: value) ?? .waiting
        case .attempt: attempt = Int(value) ?? 1
        case .retryAt: retryAt = Timestamp.date(value)
        case .report: report = (try? MessageCoding.decodeEvent(Array(value.utf8))).flatMap(TaskReport.init)
        case .queuedAt: queuedAt = Timestamp.date(value)
        case .completedAt: completedAt = Timestamp.date(value)
        }
    }
}

/// A speaker the job names in advance, with a short clip of their voice stored with the job.
package struct KnownSpeaker: Sendable, Codable, Equatable {
    package var name: String
    /// The reference clip's artifact key.
    package var audio: String

    package init(name: String, audio: String) {
        self.name = name
        self.audio = audio
    }
}
