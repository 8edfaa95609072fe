import DalstonAudio
import DalstonMetrics
import DalstonPipeline
import DalstonPropagation
import DalstonStorage
import Foundation
import Hummingbird
import Logging

/// Where every dialect's uploads come in: within the configured limits and concurrency, the
/// audio streamed to the artifact store under a new job id, measured, and submitted as a job;
/// refusals logged and counted by reason.
struct UploadIntake: Sendable {
    let configuration: GatewayConfiguration
    let jobs: JobService
    let slots: UploadSlots
    let instruments: Instruments
    let logger: Logger
    /// Where audio named by URL comes from.
    let remoteAudio: RemoteAudioSource

    init(configuration: GatewayConfiguration, jobs: JobService, instruments: Instruments, logger: Logger) {
        self.configuration = configuration
        self.remoteAudio = RemoteAudioSource(policy: configuration.addressPolicy, environment: configuration.storageEnvironment)
        self.jobs = jobs
        self.slots = UploadSlots(limit: configuration.maximumConcurrentUploads)
        self.instruments = instruments
        self.logger = logger
        instruments.startAtZero(DalstonMetric.gatewayUploadBytes)
        instruments.gauge(DalstonMetric.gatewayUploadsInProgress).record(0)
        instruments.startAtZero(DalstonMetric.gatewayUploadsRejected, UploadRejection.allCases.map { [("reason", $0.rawValue)] })
    }

    /// Receives a multipart upload within the configured limits, holding one of the upload slots
    /// meanwhile: the audio streams to the artifact store under a new job id while the body
    /// arrives. `upload` keeps what was read even when this throws, so the caller can answer in
    /// the dialect the fields asked for.
    func receive(
        _ request: Request, for caller: AuthenticatedCaller?, into upload: inout ReceivedUpload, urlField: String? = nil,
        fileLimit: @escaping ([String: [String]]) -> Int = { _ in .max }
    ) async throws {
        // Before a byte of the body: a key at its limit of jobs in progress gets its 429 at once.
        try await admitJob(for: caller)
        guard let slot = slots.take() else {
            logger.warning("upload_refused", metadata: ["reason": "concurrency_limit", "limit": .stringConvertible(configuration.maximumConcurrentUploads)])
            instruments.increment(DalstonMetric.gatewayUploadsRejected, [("reason", UploadRejection.concurrencyLimit.rawValue)])
            throw APIError(.serviceUnavailable, code: "too_many_uploads", message: "the server is receiving \(configuration.maximumConcurrentUploads) uploads already; retry in a few seconds", retryAfter: 5)
        }
        let inProgress = instruments.gauge(DalstonMetric.gatewayUploadsInProgress)
        inProgress.record(slots.inUse)
        defer {
            slot.release()
            inProgress.record(slots.inUse)
        }
        let jobID = JobService.newJobID()
        let receiver = UploadReceiver(configuration: configuration, artifacts: jobs.artifacts)
        try await withTracedSpan("gateway.store_audio") { span in
            span.attributes["dalston.job_id"] = jobID
            do {
                // Named by what the bytes are, not what the client called them (`upload`, `blob`).
                let reference = { (_: String, container: AudioContainer) in JobService.audioReference(jobID: jobID, filename: "audio.\(container.rawValue)") }
                try await receiver.receive(request, into: &upload, fileLimit: fileLimit, audioReference: reference)
                if let urlField, let url = upload[urlField]?.trimmingCharacters(in: .whitespaces), !url.isEmpty {
                    span.attributes["dalston.audio_url_field"] = urlField
                    try await receiver.receiveRemote(url, field: urlField, from: remoteAudio, into: &upload, fileLimit: fileLimit, audioReference: reference)
                }
            } catch let error as APIError {
                refused(error)
                throw error
            }
            span.attributes["dalston.audio_bytes"] = upload.audio?.writer.byteCount ?? 0
        }
    }

    /// Turns a received upload into a job: `submission` builds the request from the fields (and
    /// throws for fields it cannot honour); then the audio is committed, measured by FFmpeg when
    /// its header did not say how long it is, and submitted. On error the upload is removed.
    /// `perChannel` names the dialect's field asking for a transcription per channel and the
    /// most channels it allows (a mono upload, or one with more, is a 400 naming the field).
    func submit(
        _ upload: ReceivedUpload, api: String, for caller: AuthenticatedCaller?,
        perChannel: (field: String, mostChannels: Int) = ("speaker_detection", SpeakerDetection.mostChannels),
        _ submission: (ReceivedUpload.AudioFile) async throws -> JobSubmission
    ) async throws -> JobView {
        guard let audio = upload.audio else { throw APIError.badRequest("the file field with the audio is required", param: "file") }
        do {
            var request = try await submission(audio)
            request.tenantID = caller?.tenantID
            request.ownerKeyID = caller?.keyID
            try await audio.writer.commit()
            var channels = audio.channels
            if let duration = audio.duration {
                request.audioDurationSeconds = duration
            } else {
                let probe = try await measure(audio.writer.reference)
                request.audioDurationSeconds = probe.duration
                channels = probe.channels
            }
            if request.speakerDetection == SpeakerDetection.perChannel {
                request.audioChannels = try Self.channelsToSplit(channels, field: perChannel.field, most: perChannel.mostChannels)
            }
            let job = try await jobs.submit(request)
            instruments.increment(DalstonMetric.gatewayUploadBytes, by: Int64(audio.writer.byteCount))
            instruments.increment(DalstonMetric.gatewayJobsCreated, [("api", api)])
            return job
        } catch {
            await audio.writer.discard()
            do {
                try await jobs.artifacts.removeAll(ofJob: audio.writer.reference.jobID)
            } catch let cleanup {
                logger.warning("artifacts_not_removed", metadata: ["job_id": "\(audio.writer.reference.jobID)", "error": "\(cleanup)"])
            }
            if let error = error as? APIError { refused(error) }
            throw error
        }
    }

    /// Refuses a job from a key that has as many in progress as its limit allows (429 with
    /// `Retry-After`). The count is the key's index of jobs in progress, shared by all gateways.
    private func admitJob(for caller: AuthenticatedCaller?) async throws {
        guard let caller, let limit = configuration.limits.concurrentJobs(for: caller) else { return }
        let running = try await jobs.store.activeJobCount(ofKey: caller.keyID)
        guard running >= limit else { return }
        logger.warning("rate_limited", metadata: ["key_id": "\(caller.keyID)", "reason": "concurrent_jobs", "limit": .stringConvertible(limit)])
        instruments.increment(DalstonMetric.gatewayRateLimited, [("reason", "concurrent_jobs")])
        throw APIError(
            .tooManyRequests, code: "concurrent_job_limit",
            message: "this API key has \(running) jobs in progress, its limit; wait for one to finish (or cancel one) and retry", retryAfter: 5)
    }

    /// The channels of a per-channel job's upload: at least two (one speaker each), at most `most`.
    static func channelsToSplit(_ channels: Int?, field: String, most: Int) throws -> Int {
        guard let channels else {
            throw APIError.badRequest("\(field) needs the audio's channels, which this file does not say; send WAV or another format FFmpeg reads", param: field)
        }
        guard channels >= 2 else {
            throw APIError.badRequest("\(field) transcribes one speaker per channel, but the audio has one channel; send stereo (or more channels), or ask for diarization", param: field)
        }
        guard channels <= most else {
            throw APIError.badRequest("\(field) takes at most \(most) channels; the audio has \(channels)", param: field)
        }
        return channels
    }

    /// The duration and channels of audio in a format only FFmpeg reads, refusing what it cannot
    /// read or what is longer than allowed.
    private func measure(_ reference: ArtifactReference) async throws -> FFmpeg.Probe {
        let probe: FFmpeg.Probe
        do {
            probe = try await FFmpeg.probe(try await jobs.artifacts.localFile(reference))
        } catch let error as AudioDecodingError {
            throw APIError(.badRequest, code: "unsupported_audio", message: "\(error.description); send \(AudioContainer.supportedNames) audio", param: "file", dialect: nil)
        }
        let limit = configuration.maximumAudioDuration.seconds
        if probe.duration > limit {
            throw APIError(.contentTooLarge, code: "audio_too_long", message: "the audio is longer than the limit of \(UploadReceiver.formattedDuration(limit))", param: "file", dialect: nil)
        }
        return probe
    }

    private func refused(_ error: APIError) {
        let reason = UploadRejection(error)
        logger.warning("upload_refused", metadata: ["reason": "\(reason.rawValue)", "error": "\(error.message)"])
        instruments.increment(DalstonMetric.gatewayUploadsRejected, [("reason", reason.rawValue)])
    }

    /// Waits for a job submitted by a synchronous endpoint; nil when it did not finish in time.
    func finished(_ job: JobView) async throws -> JobView? {
        guard let current = try await jobs.waitForFinalState(job.id, timeout: configuration.synchronousTimeout), current.status.isFinal else { return nil }
        return current
    }
}

/// Why an upload was refused, as the `reason` label of `dalston_gateway_uploads_rejected_total`.
enum UploadRejection: String, CaseIterable {
    case concurrencyLimit = "concurrency_limit"
    case tooLarge = "too_large"
    case audioTooLong = "audio_too_long"
    case unsupportedAudio = "unsupported_audio"
    case invalidRequest = "invalid_request"

    init(_ error: APIError) {
        switch error.code {
        case "payload_too_large": self = .tooLarge
        case "audio_too_long": self = .audioTooLong
        case "unsupported_audio": self = .unsupportedAudio
        default: self = .invalidRequest
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
