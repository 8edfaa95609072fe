package import DalstonBroker
import DalstonCore
package import DalstonRealtime
package import Foundation

/// A finished or running realtime session, as `GET /v1/realtime/sessions` shows it.
package struct RealtimeSessionRecord: Sendable, Equatable, Codable {
    package var id: String
    /// `active`, `completed`, `interrupted` (client left without `end`), `timeout`, `error`.
    package var status: String
    package var protocolName: String
    package var language: String
    package var model: String?
    package var workerID: String?
    package var requestID: String
    package var startedAt: Date
    package var endedAt: Date?
    package var audioDurationSeconds: Double
    package var speechDurationSeconds: Double
    package var segmentCount: Int
    package var wordCount: Int
    package var transcript: String
    package var segments: [SessionSegment]
    package var error: String?
    /// The tenant of the key that opened it (nil: from before tenants, the default tenant's).
    package var tenantID: String?

    package init(id: String, protocolName: String, language: String, model: String?, requestID: String, startedAt: Date = Date()) {
        self.id = id
        self.status = "active"
        self.protocolName = protocolName
        self.language = language
        self.model = model
        self.requestID = requestID
        self.startedAt = startedAt
        self.audioDurationSeconds = 0
        self.speechDurationSeconds = 0
        self.segmentCount = 0
        self.wordCount = 0
        self.transcript = ""
        self.segments = []
    }

    enum CodingKeys: String, CodingKey {
        case id, status, language, model, transcript, segments, error
        case protocolName = "protocol"
        case workerID = "worker_id"
        case requestID = "request_id"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case audioDurationSeconds = "audio_duration_seconds"
        case speechDurationSeconds = "speech_duration_seconds"
        case segmentCount = "segment_count"
        case wordCount = "word_count"
        case tenantID = "tenant_id"
    }
}

/// Where realtime sessions are kept once they start: the record database, or the state store
/// when a process has none.
package protocol RealtimeSessionArchive: Sendable {
    /// Inserts or replaces the session's record (its relay, which alone knows how it went).
    func save(_ record: RealtimeSessionRecord) async throws
    /// Replaces the record only while the stored one is still `active`, in one atomic step: how
    /// the health loop closes a session whose gateway died without overwriting one its relay
    /// ended meanwhile. `false` when it was no longer active (or is gone).
    func saveIfActive(_ record: RealtimeSessionRecord) async throws -> Bool
    func record(_ id: String) async throws -> RealtimeSessionRecord?
    /// Newest first; `before` (a start time in seconds since 1970, exclusive) pages further back;
    /// only `tenantID`'s sessions when given.
    func list(limit: Int, before: Double?, status: String?, tenantID: String?) async throws -> [RealtimeSessionRecord]
    func delete(_ id: String) async throws
}

/// Realtime sessions kept in the state store: one record per session and an index by start
/// time (newest first), so they outlive the connection and the worker.
package struct RealtimeSessionRecords: RealtimeSessionArchive {
    let state: any StateStore
    static let index = "realtime_sessions"
    static let namespace = "realtime_session"

    package init(state: any StateStore) {
        self.state = state
    }

    package func save(_ record: RealtimeSessionRecord) async throws(BrokerError) {
        _ = try await state.transition(StateTransition(
            StateKey(namespace: Self.namespace, id: record.id), set: ["record": try Self.json(record), "status": record.status],
            effects: [.addToIndex(Self.index, member: record.id, score: record.startedAt.timeIntervalSince1970)]))
    }

    package func saveIfActive(_ record: RealtimeSessionRecord) async throws(BrokerError) -> Bool {
        try await state.transition(StateTransition(
            StateKey(namespace: Self.namespace, id: record.id), when: ["status": ["active"]],
            set: ["record": try Self.json(record), "status": record.status])).applied
    }

    private static func json(_ record: RealtimeSessionRecord) throws(BrokerError) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        do {
            return String(decoding: try encoder.encode(record), as: UTF8.self)
        } catch {
            throw .unavailable("a session record could not be encoded: \(error)")
        }
    }

    package func record(_ id: String) async throws(BrokerError) -> RealtimeSessionRecord? {
        let fields = try await state.record(StateKey(namespace: Self.namespace, id: id))
        guard let json = fields["record"] else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(RealtimeSessionRecord.self, from: Data(json.utf8))
    }

    /// Newest first; `before` (a start time, exclusive) pages further back.
    package func list(limit: Int, before: Double? = nil, status: String? = nil, tenantID: String? = nil) async throws(BrokerError) -> [RealtimeSessionRecord] {
        var records: [RealtimeSessionRecord] = []
        var ceiling = before.map { $0.nextDown }
        while records.count < limit {
            let batch = try await state.indexEntries(Self.index, limit: max(limit * 2, 50), maximumScore: ceiling)
            if batch.isEmpty { break }
            for entry in batch where records.count < limit {
                guard let record = try await record(entry.member) else {
                    try await state.removeFromIndex(Self.index, member: entry.member)
                    continue
                }
                if status == nil || record.status == status, Tenancy.isVisible(owner: record.tenantID, to: tenantID) { records.append(record) }
            }
            guard let last = batch.last, batch.count >= max(limit * 2, 50) else { break }
            ceiling = last.score.nextDown
        }
        return records
    }

    package func delete(_ id: String) async throws(BrokerError) {
        try await state.deleteRecord(StateKey(namespace: Self.namespace, id: id))
        try await state.removeFromIndex(Self.index, member: id)
    }
}
