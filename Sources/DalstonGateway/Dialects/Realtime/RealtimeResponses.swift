import DalstonCore
import DalstonRealtime
import DalstonSessionRouter
import Foundation
import Hummingbird

extension RealtimeStatus: ResponseEncodable {}

/// `GET /v1/realtime/workers[/{id}]`.
struct RealtimeWorkerResponse: ResponseEncodable {
    let workerID: String
    let endpoint: String
    let status: String
    let healthy: Bool
    let capacity: Int
    let activeSessions: Int
    let models: [String]
    let lastHeartbeat: String
    let metricsEndpoint: String?

    init(_ worker: RealtimeWorkerInfo, staleAfter: TimeInterval, now: Date = Date()) {
        workerID = worker.workerID
        endpoint = worker.endpoint
        status = worker.status
        healthy = worker.isHealthy(now: now, staleAfter: staleAfter)
        capacity = worker.capacity
        activeSessions = worker.reserved
        models = worker.models
        lastHeartbeat = Timestamp.string(worker.lastHeartbeat)
        metricsEndpoint = worker.metricsEndpoint
    }

    enum CodingKeys: String, CodingKey {
        case endpoint, status, healthy, capacity, models
        case workerID = "worker_id"
        case activeSessions = "active_sessions"
        case lastHeartbeat = "last_heartbeat"
        case metricsEndpoint = "metrics_endpoint"
    }
}

struct RealtimeWorkerListResponse: ResponseEncodable {
    let workers: [RealtimeWorkerResponse]
    let total: Int
}

/// A session in `GET /v1/realtime/sessions` (the transcript only in the single-session view).
struct RealtimeSessionSummaryResponse: Encodable {
    let id: String
    /// One of the statuses the original Dalston SDK knows (`active`, `completed`, `error`,
    /// `interrupted`); why a session was interrupted is in `end_reason` (`timeout`: the client went
    /// quiet past the idle limit).
    let status: String
    let endReason: String?
    let protocolName: String
    let language: String
    let model: String?
    let workerID: String?
    let requestID: String
    let startedAt: String
    let endedAt: String?
    let audioDurationSeconds: Double
    let segmentCount: Int
    let wordCount: Int

    init(_ record: RealtimeSessionRecord) {
        id = record.id
        (status, endReason) = Self.sdkStatus(record.status)
        protocolName = record.protocolName
        language = record.language
        model = record.model
        workerID = record.workerID
        requestID = record.requestID
        startedAt = Timestamp.string(record.startedAt)
        endedAt = record.endedAt.map(Timestamp.string)
        audioDurationSeconds = record.audioDurationSeconds
        segmentCount = record.segmentCount
        wordCount = record.wordCount
    }

    static let sdkStatuses: Set<String> = ["active", "completed", "error", "interrupted"]

    /// A stored status as the SDK's enum has it, and the reason when that loses detail.
    static func sdkStatus(_ stored: String) -> (status: String, endReason: String?) {
        sdkStatuses.contains(stored) ? (stored, nil) : ("interrupted", stored)
    }

    enum CodingKeys: String, CodingKey {
        case id, status, language, model
        case endReason = "end_reason"
        case protocolName = "protocol"
        case workerID = "worker_id"
        case requestID = "request_id"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case audioDurationSeconds = "audio_duration_seconds"
        case segmentCount = "segment_count"
        case wordCount = "word_count"
    }
}

struct RealtimeSessionListResponse: ResponseEncodable {
    let sessions: [RealtimeSessionSummaryResponse]
    let cursor: String?
    let hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case sessions, cursor
        case hasMore = "has_more"
    }
}

/// `GET /v1/realtime/sessions/{id}`: the record with its transcript and segments.
struct RealtimeSessionResponse: ResponseEncodable {
    let session: RealtimeSessionSummaryResponse
    let speechDurationSeconds: Double
    let transcript: String
    let segments: [SessionSegment]
    let error: String?

    init(_ record: RealtimeSessionRecord) {
        session = RealtimeSessionSummaryResponse(record)
        speechDurationSeconds = record.speechDurationSeconds
        transcript = record.transcript
        segments = record.segments
        error = record.error
    }

    func encode(to encoder: any Encoder) throws {
        try session.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(speechDurationSeconds, forKey: .speechDurationSeconds)
        try container.encode(transcript, forKey: .transcript)
        try container.encode(segments, forKey: .segments)
        try container.encode(error, forKey: .error)
    }

    enum CodingKeys: String, CodingKey {
        case transcript, segments, error
        case speechDurationSeconds = "speech_duration_seconds"
    }
}

struct RealtimeSessionDeletedResponse: ResponseEncodable {
    let deleted: Bool
    let sessionID: String

    enum CodingKeys: String, CodingKey {
        case deleted
        case sessionID = "session_id"
    }
}
