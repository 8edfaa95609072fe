import DalstonRealtime
import DalstonRecords
import Foundation
import Synchronization

/// Whether the keys behind a gateway's live realtime sessions still hold, for the relay to end
/// the sessions of a key revoked or expired meanwhile. One database read per key per `freshness`
/// whatever the number of sessions it has open; a database that cannot be read keeps sessions
/// running (the next check tries again).
final class KeyStatusWatch: Sendable {
    private struct Entry {
        var checkedAt: ContinuousClock.Instant
        var refusal: RealtimeError?
    }

    let records: RecordStore
    let freshness: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(records: RecordStore, freshness: Duration = .seconds(1)) {
        self.records = records
        self.freshness = freshness
    }

    /// Why the session of this caller must end now; nil while its key holds.
    func refusal(for caller: AuthenticatedCaller) async -> RealtimeError? {
        guard caller.source != .environment else { return nil }
        let now = ContinuousClock.now
        if let entry = entries.withLock({ $0[caller.keyID] }), now - entry.checkedAt < freshness { return entry.refusal }
        let refusal: RealtimeError?
        do {
            refusal = Self.refusal(for: try await records.apiKeys.key(id: caller.keyID), keyID: caller.keyID)
        } catch {
            return nil
        }
        entries.withLock { entries in
            if entries.count > 10_000 { entries = entries.filter { now - $0.value.checkedAt < freshness } }
            entries[caller.keyID] = Entry(checkedAt: now, refusal: refusal)
        }
        return refusal
    }

    static func refusal(for key: APIKey?, keyID: String, now: Date = Date()) -> RealtimeError? {
        guard let key else {
            return RealtimeError(code: "key_revoked", message: "the API key of this session (\(keyID)) no longer exists; the session ends", recoverable: false)
        }
        switch key.unusable(at: now) {
        case .revoked?:
            return RealtimeError(code: "key_revoked", message: "the API key of this session (\(key.prefix)…) was revoked; the session ends", recoverable: false)
        case .expired?:
            return RealtimeError(code: "key_expired", message: "the API key of this session (\(key.prefix)…) has expired; the session ends", recoverable: false)
        case nil:
            return nil
        }
    }
}
