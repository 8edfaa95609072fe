package import DalstonBroker
package import DalstonModels
import DalstonCore
import DalstonLogging
import DalstonPropagation
package import Foundation
package import Logging
import Tracing

/// A transcription request as the API receives it.
package struct JobSubmission: Sendable {
    /// Where the audio is.
    package enum Audio: Sendable {
        /// In memory (the CLI's embedded mode, tests): `submit` stores it.
        case bytes([UInt8])
        /// Already stored by the caller (an upload streamed to disk) under a job id from
        /// `JobService.newJobID()`, which becomes the job's id.
        case stored(ArtifactReference, byteCount: Int)
    }

    package var audio: Audio
    package var filename: String
    package var language: String
    package var modelID: String
    package var timestampsGranularity: String
    /// The engine of the transcribe stage, from the model (nil: PocketSphinx's).
    package var recognizer: String?
    /// See `JobField.recognizerOptions`.
    package var recognizerOptions: [String: String] = [:]
    /// The correlation id of the HTTP request (or connection) that created the job.
    package var requestID: String
    package var displayName: String?
    /// Seconds of audio when the caller knows (from the file's header).
    package var audioDurationSeconds: Double?
    /// Where to POST the job's end (see `JobField.webhookURL`).
    package var webhookURL: String?
    /// A JSON object echoed in the webhook.
    package var webhookMetadata: String?
    /// Days to keep the job once it ends (see `JobField.retentionDays`).
    package var retentionDays: Int?
    /// See `JobField.tenantID`.
    package var tenantID: String?
    /// See `JobField.ownerKeyID`.
    package var ownerKeyID: String?
    /// `diarize` or `per_channel` (see `JobField.speakerDetection`).
    package var speakerDetection: String?
    /// `num_speakers`, `min_speakers`, `max_speakers` when asked.
    package var speakerCounts: [String: Int] = [:]
    /// Speakers to name by their reference clips (see `JobField.knownSpeakers`).
    package var knownSpeakers: [KnownSpeaker] = []
    /// The upload's channels, for a per-channel job (see `JobField.audioChannels`).
    package var audioChannels: Int?
    /// See `JobField.channelOutput`.
    package var channelOutput: String?

    package init(audio: [UInt8], filename: String, language: String = "en", modelID: String = "pocketsphinx-en-us",
                timestampsGranularity: String = "word", requestID: String) {
        self.init(audio: .bytes(audio), filename: filename, language: language, modelID: modelID, timestampsGranularity: timestampsGranularity, requestID: requestID)
    }

    package init(audio: Audio, filename: String, language: String = "en", modelID: String = "pocketsphinx-en-us",
                timestampsGranularity: String = "word", requestID: String) {
        self.audio = audio
        self.filename = filename
        self.language = language
        self.modelID = modelID
        self.timestampsGranularity = timestampsGranularity
        self.requestID = requestID
    }
}

extension JobSubmission {
    /// Runs `model`: its id on the job, its engine for the transcribe stage; a language the
    /// request left open is detected by a multilingual model and is English for the others.
    package mutating func use(_ model: ModelInfo, language: String?) {
        modelID = model.id
        recognizer = model.engine == EngineKind.transcribe ? nil : model.engine
        self.language = language ?? (model.multilingual ? "auto" : model.languages.first ?? "en")
    }
}

/// A job as the API shows it.
package struct JobView: Sendable, Equatable {
    package var id: String
    package var status: JobStatus
    package var requestID: String
    package var createdAt: String
    package var completedAt: String?
    package var progress: Int
    package var currentStage: String?
    package var language: String
    package var modelID: String
    package var error: String?
    package var processingTimeSeconds: Double?
    package var displayName: String?
    package var audioDurationSeconds: Double?
    /// `word` (segments and words), `segment` (segments only) or `none` (text only): what the
    /// job's answers show of the transcript's timings.
    package var timestampsGranularity = "word"
    /// The tenant whose keys may see it.
    package var tenantID = JobTenancy.defaultTenant
    /// See `JobField.channelOutput`.
    package var channelOutput: String?
    /// Present once completed.
    package var transcript: Transcript?

    /// Failed while its audio was being decoded, on a failure no retry could fix (the decoder
    /// refused it): the upload was at fault, not the server. A store or worker that stayed
    /// unreachable through every attempt is the server's fault.
    package var failedOnItsAudio = false
}

/// `GET /v1/jobs/stats`: jobs in progress and finished today.
package struct JobStats: Sendable, Equatable {
    package var running = 0
    package var queued = 0
    package var completed = 0
    package var failed = 0
    package var cancelled = 0

    package init() {}
}

/// What to list: newest first, `limit` per page, from `cursor`, optionally by status and age.
package struct JobListQuery: Sendable {
    package var limit: Int
    package var cursor: JobCursor?
    package var status: JobStatus?
    /// Only jobs created at or after this instant.
    package var since: Date?
    /// Only this tenant's jobs (nil: everyone's, for keyless gateways).
    package var tenantID: String?

    package init(limit: Int = 20, cursor: JobCursor? = nil, status: JobStatus? = nil, since: Date? = nil, tenantID: String? = nil) {
        self.limit = limit
        self.cursor = cursor
        self.status = status
        self.since = since
        self.tenantID = tenantID
    }
}

/// Where a page of the job listing ended: the last job's place in the index (its score and id),
/// so the next page continues exactly after it whatever was created or deleted meanwhile.
package struct JobCursor: Sendable, Equatable {
    package let score: Double
    package let jobID: String

    package init(score: Double, jobID: String) {
        self.score = score
        self.jobID = jobID
    }

    /// The opaque text form clients send back (base64url of `score|id`).
    package var encoded: String {
        Data("\(score)|\(jobID)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Reads `encoded`; nil for anything this server did not issue.
    package init?(encoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard text.count <= 200, let data = Data(base64Encoded: base64) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: "|", maxSplits: 1)
        guard parts.count == 2, let score = Double(parts[0]), score.isFinite, !parts[1].isEmpty else { return nil }
        self.init(score: score, jobID: String(parts[1]))
    }

    /// Whether an index entry comes after this cursor (newest first; ties by id, descending).
    func precedes(_ entry: IndexEntry) -> Bool {
        entry.score < score || (entry.score == score && entry.member < jobID)
    }
}

/// One page of the listing; `next` continues it (nil on the last page).
package struct JobPage: Sendable {
    package var jobs: [JobView]
    package var next: JobCursor?
}

/// What deleting a job did.
package enum JobDeletion: Sendable, Equatable {
    case deleted
    case notFound
    /// Still pending or running: cancel it first.
    case notFinished(JobStatus)
}

/// Creates, reads, lists, cancels and waits for jobs: the gateway's and the CLI's view of the
/// pipeline. It writes only new jobs and cancel requests; the orchestrator owns everything else.
package struct JobService: Sendable {
    package let store: JobStore
    package let events: any EventBus
    package let artifacts: any ArtifactStore
    /// Shared by every copy of this service: one subscription for all the waits of a process.
    private let endWatcher: JobEndWatcher
    private let logger: Logger

    package init(
        state: any StateStore, events: any EventBus, artifacts: any ArtifactStore, history: (any JobHistory)? = nil,
        logger: Logger = Logger(label: "dalston.jobs")
    ) {
        self.store = JobStore(state: state, history: history)
        self.events = events
        self.endWatcher = JobEndWatcher(events: events)
        self.artifacts = artifacts
        self.logger = logger
    }

    /// A fresh job id (a lowercase UUID, as Dalston's clients expect), for callers that store
    /// the audio before submitting.
    package static func newJobID() -> String {
        UUID().uuidString.lowercased()
    }

    /// Where a job's uploaded audio is kept: `audio.<extension>`, the extension kept only when
    /// it is short and plain (it is the client's text).
    package static func audioReference(jobID: String, filename: String) -> ArtifactReference {
        let fileExtension = URL(fileURLWithPath: filename).pathExtension.lowercased()
        let plain = !fileExtension.isEmpty && fileExtension.count <= 8 && fileExtension.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        return ArtifactReference(jobID: jobID, name: "audio.\(plain ? fileExtension : "wav")")
    }

    /// Stores the audio (unless already stored), records the job and announces it with
    /// `job_created`. On any failure nothing of the job is left behind, stored audio included.
    package func submit(_ submission: JobSubmission) async throws -> JobView {
        let jobID = switch submission.audio {
        case .bytes: Self.newJobID()
        case .stored(let reference, _): reference.jobID
        }
        return try await withLogContext(["request_id": "\(submission.requestID)", "job_id": "\(jobID)"]) {
            try await store(submission, jobID: jobID)
        }
    }

    private func store(_ submission: JobSubmission, jobID: String) async throws -> JobView {
        let audio: ArtifactReference
        let audioBytes: Int
        switch submission.audio {
        case .bytes(let bytes):
            audio = Self.audioReference(jobID: jobID, filename: submission.filename)
            audioBytes = bytes.count
        case .stored(let reference, let byteCount):
            audio = reference
            audioBytes = byteCount
        }
        var job = JobRecord(
            id: jobID, requestID: submission.requestID, language: submission.language, modelID: submission.modelID,
            timestampsGranularity: submission.timestampsGranularity, audio: audio, audioBytes: audioBytes,
            filename: submission.filename)
        job.displayName = submission.displayName
        job.recognizer = submission.recognizer
        job.recognizerOptions = submission.recognizerOptions
        job.audioDurationSeconds = submission.audioDurationSeconds
        job.webhookURL = submission.webhookURL
        job.webhookMetadata = submission.webhookMetadata
        job.retentionDays = submission.retentionDays
        job.tenantID = submission.tenantID
        job.speakerDetection = submission.speakerDetection
        job.speakerCounts = submission.speakerCounts
        job.audioChannels = submission.audioChannels
        job.knownSpeakers = submission.knownSpeakers
        job.channelOutput = submission.channelOutput
        job.ownerKeyID = submission.ownerKeyID
        do {
            if case .bytes(let bytes) = submission.audio {
                try await withTracedSpan("gateway.store_audio") { span in
                    span.attributes["dalston.job_id"] = jobID
                    span.attributes["dalston.audio_bytes"] = audioBytes
                    try await artifacts.write(bytes, to: audio)
                }
            }
            // Recording the job and announcing it are one atomic step; the trace still shows them
            // as the spec's two spans, and the event continues from the publishing one.
            let publish = startSpan("gateway.publish_job_created", ofKind: .producer)
            publish.attributes["dalston.job_id"] = jobID
            publish.attributes["messaging.operation.type"] = "send"
            publish.attributes["messaging.destination.name"] = "events"
            var eventMetadata = job.messageMetadata
            MessageTracing.inject(into: &eventMetadata, context: publish.context)
            do {
                try await withTracedSpan("gateway.create_job") { span in
                    span.attributes["dalston.job_id"] = jobID
                    span.attributes["dalston.request_id"] = submission.requestID
                    // The job keeps its trace: work the orchestrator starts later without an event
                    // (sweeps, retries) still joins the trace of the request that created it.
                    MessageTracing.inject(into: &job.traceContext)
                    try await store.create(job, announcing: EventEnvelope(
                        type: PipelineEvent.jobCreated, jobID: jobID,
                        data: ["audio_bytes": .number(Double(audioBytes)), "language": .string(submission.language)],
                        metadata: eventMetadata))
                }
                publish.end()
            } catch {
                publish.recordError(error)
                publish.setStatus(SpanStatus(code: .error, message: "\(error)"))
                publish.end()
                throw error
            }
            logger.info("job_created", metadata: ["audio_bytes": .stringConvertible(audioBytes), "filename": "\(submission.filename)"])
            return view(job)
        } catch {
            do {
                try await artifacts.removeAll(ofJob: jobID)
            } catch let cleanup {
                logger.warning("artifacts_not_removed", metadata: ["job_id": "\(jobID)", "error": "\(cleanup)"])
            }
            await store.discard(jobID)
            logger.error("job_not_created", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// The job with its transcript; nil when there is none, or when it is another tenant's
    /// (`tenant` nil: anyone's).
    package func job(_ jobID: String, visibleTo tenant: String? = nil) async throws -> JobView? {
        guard let record = try await record(jobID, visibleTo: tenant) else { return nil }
        return await view(record, withTranscript: true)
    }

    /// The stored record, if `tenant` may see it.
    package func record(_ jobID: String, visibleTo tenant: String?) async throws -> JobRecord? {
        guard let record = try await store.job(jobID), record.isVisible(to: tenant) else { return nil }
        return record
    }

    func view(_ record: JobRecord) -> JobView {
        summary(record)
    }

    /// The job with its transcript read from the artifact store (logged, not thrown, when it cannot be).
    func view(_ record: JobRecord, withTranscript: Bool) async -> JobView {
        var view = summary(record)
        if withTranscript, record.status == .completed, let result = record.result {
            do {
                view.transcript = try JSONDecoder().decode(Transcript.self, from: Data(await artifacts.read(result)))
            } catch {
                logger.error("transcript_unreadable", metadata: ["job_id": "\(record.id)", "error": "\(error)"])
            }
        }
        return view
    }

    private func summary(_ record: JobRecord) -> JobView {
        var view = JobView(
            id: record.id, status: record.status, requestID: record.requestID, createdAt: Timestamp.string(record.createdAt),
            completedAt: record.completedAt.map(Timestamp.string), progress: record.progress, currentStage: record.currentStage,
            language: record.language, modelID: record.modelID, error: record.error, processingTimeSeconds: record.processingTimeSeconds,
            displayName: record.displayName, audioDurationSeconds: record.audioDurationSeconds)
        view.timestampsGranularity = record.timestampsGranularity
        view.tenantID = record.tenant
        view.channelOutput = record.channelOutput
        view.failedOnItsAudio = record.status == .failed && record.currentStage == PipelineStages.prepare
            && record.tasks[PipelineStages.prepare]?.failure?.retryable == false
        return view
    }

    package func recentJobs(limit: Int) async throws -> [JobView] {
        try await store.recent(limit: limit).map { view($0) }
    }

    /// A page of the listing, newest first. Reads the index in batches and skips jobs that do not
    /// match, looking at no more than `scanLimit` entries per page (a page may then be short,
    /// with a cursor to go on from).
    package func list(_ query: JobListQuery, scanLimit: Int = 10_000) async throws -> JobPage {
        if let history = store.history {
            // The database filters and pages itself; one row more tells whether a page follows.
            let records = try await history.list(query, limit: query.limit + 1).compactMap(JobRecord.init(fields:))
            let page = records.prefix(query.limit)
            let next = records.count > query.limit ? page.last.map { JobCursor(score: $0.createdAt.timeIntervalSince1970, jobID: $0.id) } : nil
            return JobPage(jobs: page.map { view($0) }, next: next)
        }
        var matched: [(JobRecord, IndexEntry)] = []
        var position = query.cursor
        var scanned = 0
        scan: while matched.count <= query.limit && scanned < scanLimit {
            let batch = try await store.state.indexEntries(PipelineIndex.jobs, limit: 200, maximumScore: position?.score)
                .filter { position?.precedes($0) ?? true }
            guard let last = batch.last else { break }
            for entry in batch {
                scanned += 1
                if let since = query.since, entry.score < since.timeIntervalSince1970 { break scan }
                position = JobCursor(score: entry.score, jobID: entry.member)
                guard let record = try await store.liveJob(entry.member) else { continue }
                if let status = query.status, record.status != status { continue }
                if let tenant = query.tenantID, record.tenant != tenant { continue }
                matched.append((record, entry))
                if matched.count > query.limit { break scan }
            }
            position = JobCursor(score: last.score, jobID: last.member)
        }
        let page = matched.prefix(query.limit)
        var next: JobCursor?
        if matched.count > query.limit, let last = page.last {
            next = JobCursor(score: last.1.score, jobID: last.0.id)
        } else if matched.count < query.limit && scanned >= scanLimit {
            next = position  // the scan stopped early: more may match further on
        }
        return JobPage(jobs: page.map { view($0.0) }, next: next)
    }

    /// Jobs in progress now (`queued`: not yet started by an engine) and finished since `since`,
    /// of one tenant (nil: all). Jobs in progress are read from the live state, the finished ones
    /// from the history (without one, from the live records of the newest 10,000).
    package func stats(tenant: String?, since: Date) async throws -> JobStats {
        var stats = JobStats()
        for id in try await store.activeJobIDs() {
            guard let job = try await store.liveJob(id), !job.status.isFinal, job.isVisible(to: tenant) else { continue }
            if job.status == .pending || job.tasks.values.allSatisfy({ [.waiting, .queued].contains($0.status) }) {
                stats.queued += 1
            } else {
                stats.running += 1
            }
        }
        let finished: [String: Int]
        if let history = store.history {
            finished = try await history.finishedCounts(since: since, tenantID: tenant)
        } else {
            finished = try await store.recent(limit: 10_000).reduce(into: [:]) { counts, job in
                if job.status.isFinal, job.isVisible(to: tenant), (job.completedAt ?? .distantPast) >= since { counts[job.status.rawValue, default: 0] += 1 }
            }
        }
        stats.completed = finished[JobStatus.completed.rawValue] ?? 0
        stats.failed = finished[JobStatus.failed.rawValue] ?? 0
        stats.cancelled = finished[JobStatus.cancelled.rawValue] ?? 0
        return stats
    }

    /// Deletes a finished job: its record, its listing entry and its files.
    package func delete(_ jobID: String) async throws -> JobDeletion {
        guard let record = try await store.job(jobID) else { return .notFound }
        guard record.status.isFinal else { return .notFinished(record.status) }
        guard try await store.delete(jobID) else {
            return try await store.job(jobID).map { .notFinished($0.status) } ?? .notFound
        }
        // The record is gone first (so nobody reads half-deleted files); files a down store kept
        // are the retention sweep's, which deletes the artifacts of jobs without a record.
        do {
            try await artifacts.removeAll(ofJob: jobID)
        } catch {
            logger.warning("artifacts_not_removed", metadata: ["job_id": "\(jobID)", "error": "\(error)"])
        }
        logger.info("job_deleted", metadata: ["job_id": "\(jobID)", "status": "\(record.status.rawValue)"])
        return .deleted
    }

    /// Renames a job; nil when there is no such job.
    package func rename(_ jobID: String, displayName: String) async throws -> JobView? {
        guard try await store.rename(jobID, displayName: displayName) else { return nil }
        return try await job(jobID)
    }

    /// Asks the orchestrator to cancel; returns the job as it is now (nil when unknown).
    package func requestCancel(_ jobID: String, requestID: String) async throws -> JobView? {
        guard let record = try await store.job(jobID) else { return nil }
        if !record.status.isFinal {
            var metadata = [MessageMetadataKey.requestID: requestID, MessageMetadataKey.jobID: jobID]
            MessageTracing.inject(into: &metadata)
            _ = try await store.requestCancel(jobID, announcing: EventEnvelope(type: PipelineEvent.jobCancelRequested, jobID: jobID, metadata: metadata))
        }
        return view(record)
    }

    /// Waits until the job is completed, failed or cancelled, or `timeout` passes, and returns
    /// it as it is then (nil when unknown). Hears the job's final event through the process's one
    /// shared subscription (`JobEndWatcher`); reads the record only at the start and every
    /// `fallbackPoll` (events are at most once and may be missed).
    package func waitForFinalState(_ jobID: String, timeout: Duration, fallbackPoll: Duration = .seconds(2)) async throws -> JobView? {
        let watch = endWatcher.watch(jobID)
        defer { watch.cancel() }
        _ = await watch.subscription.waitUntilReady(timeout: .seconds(5))
        let deadline = ContinuousClock.now + timeout
        let store = self.store
        try await withThrowingTaskGroup(of: Bool.self) { group in
            // Whichever comes first: the job's final event, or a look at the record that finds it
            // final (the first look is at once: the job may have finished before we subscribed).
            group.addTask {
                for await _ in watch.ended { return true }
                return false  // cancelled: the polling decides
            }
            group.addTask {
                while ContinuousClock.now < deadline {
                    if try await store.job(jobID)?.status.isFinal ?? true { return true }
                    try await Task.sleep(until: min(deadline, .now + fallbackPoll), clock: .continuous)
                }
                return true
            }
            while let done = try await group.next(), !done {}
            group.cancelAll()
        }
        return try await job(jobID)
    }
}
