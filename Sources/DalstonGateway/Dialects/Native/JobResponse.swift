package import DalstonPipeline
import Hummingbird

/// A job as the native API shows it (`GET /v1/audio/transcriptions/{id}`, listings, and what
/// `dalston transcribe --json` prints). The transcript fields appear once it is completed.
package struct JobResponse: ResponseEncodable, Decodable, Sendable {
    package struct Failure: Codable, Sendable {
        package let code: String
        package let message: String
    }

    package struct Segment: Codable, Sendable {
        package let id: Int
        package let start: Double
        package let end: Double
        package let text: String
        package var speaker: String?
        /// The channel it was heard on, in a per-channel transcript.
        package var channel: Int?
    }

    /// A speaker found by diarization, or a channel's in a per-channel transcript, in the
    /// original API's shape.
    package struct Speaker: Codable, Sendable {
        package let id: String
        package let label: String
        /// Seconds of the transcript's segments that are theirs.
        package let totalDuration: Double
        /// Their channel, in a per-channel transcript.
        package var channel: Int?
        /// The language heard on their channel, in a per-channel transcript.
        package var languageCode: String?

        enum CodingKeys: String, CodingKey {
            case id, label, channel
            case totalDuration = "total_duration"
            case languageCode = "language_code"
        }
    }

    package struct Word: Codable, Sendable {
        package let text: String
        package let start: Double
        package let end: Double
        package let confidence: Double?
        package var speaker: String?
        package var channel: Int?
    }

    package let id: String
    package let status: String
    package let createdAt: String
    package let completedAt: String?
    package let progress: Int
    package let currentStage: String?
    /// Dalston's name of the model that ran (`model_id` too, for older clients).
    package let model: String?
    package let modelID: String
    package let displayName: String?
    package let audioDurationSeconds: Double?
    package let languageCode: String
    /// How sure the recogniser was of a language it detected (absent when the request gave it).
    package let languageProbability: Double?
    package let requestID: String
    package let error: Failure?
    package let processingTimeSeconds: Double?
    package let text: String?
    package let duration: Double?
    package let segments: [Segment]?
    package let words: [Word]?
    /// The speakers found, when the job was diarized (`speaker` is on its words and segments).
    package let speakers: [Speaker]?

    package init(_ job: JobView) {
        id = job.id
        status = job.status.rawValue
        createdAt = job.createdAt
        completedAt = job.completedAt
        progress = job.progress
        currentStage = job.currentStage
        model = job.modelID
        modelID = job.modelID
        displayName = job.displayName
        audioDurationSeconds = job.audioDurationSeconds
        languageCode = job.transcript?.languageCode ?? job.language
        languageProbability = job.transcript?.languageProbability
        requestID = job.requestID
        error = job.error.map { Failure(code: job.failedOnItsAudio ? "invalid_audio" : "processing_failed", message: $0) }
        processingTimeSeconds = job.processingTimeSeconds
        text = job.transcript?.text
        duration = job.transcript?.duration
        // `timestamps_granularity`: segment leaves the words out, none the segments too.
        segments = job.timestampsGranularity == "none" ? nil : job.transcript?.segments.map {
            Segment(id: $0.id, start: $0.start, end: $0.end, text: $0.text, speaker: $0.speaker, channel: $0.channel)
        }
        words = job.timestampsGranularity != "word" ? nil : job.transcript?.words.map {
            Word(text: $0.text, start: $0.start, end: $0.end, confidence: $0.confidence, speaker: $0.speaker, channel: $0.channel)
        }
        speakers = job.transcript.flatMap { transcript in
            transcript.speakers.map { names in
                names.map { name in
                    let channel = transcript.channels?.first { $0.speaker == name }
                    return Speaker(
                        id: name, label: transcript.label(of: name),
                        totalDuration: transcript.segments.filter { $0.speaker == name }.reduce(0) { $0 + ($1.end - $1.start) },
                        channel: channel?.channel, languageCode: channel?.languageCode)
                }
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, status, progress, error, text, duration, segments, words, model, speakers
        case displayName = "display_name"
        case audioDurationSeconds = "audio_duration_seconds"
        case createdAt = "created_at"
        case completedAt = "completed_at"
        case currentStage = "current_stage"
        case modelID = "model_id"
        case languageCode = "language_code"
        case languageProbability = "language_probability"
        case requestID = "request_id"
        case processingTimeSeconds = "processing_time_seconds"
    }
}

/// `POST /v1/audio/transcriptions` (asynchronous): 201 with the new job's id.
package struct JobCreatedResponse: ResponseEncodable, Decodable, Sendable {
    package let id: String
    package let status: String
    package let createdAt: String
    package let displayName: String?

    enum CodingKeys: String, CodingKey {
        case id, status
        case createdAt = "created_at"
        case displayName = "display_name"
    }
}

/// `GET /v1/audio/transcriptions`: a page, newest first; `cursor` fetches the next.
struct JobListResponse: ResponseEncodable {
    let jobs: [JobResponse]
    let cursor: String?
    let hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case jobs, cursor
        case hasMore = "has_more"
    }
}

/// `POST /v1/audio/transcriptions/{id}/cancel`: 202, the cancel is under way.
struct CancelResponse: ResponseEncodable {
    let id: String
    let status: String
    let cancelRequested: Bool

    enum CodingKeys: String, CodingKey {
        case id, status
        case cancelRequested = "cancel_requested"
    }
}

/// `GET /health`.
struct HealthResponse: ResponseEncodable {
    let status: String
}

/// `GET /ready`: `ready` only when the broker answers and the artifact store takes a write.
struct ReadyResponse: ResponseEncodable {
    /// Live sessions: `ready`, `at_capacity` (every slot taken) or `unavailable` (no worker can
    /// take one yet, or the router's store does not answer).
    struct Realtime: Encodable {
        let status: String
        let availableSessions: Int
        let capacity: Int

        enum CodingKeys: String, CodingKey {
            case status, capacity
            case availableSessions = "available_sessions"
        }
    }

    let status: String
    let broker: String
    let storage: String
    /// `ok` or `unavailable`; absent without a record database.
    let database: String?
    /// Absent where the gateway serves no live sessions.
    let realtime: Realtime?
}
