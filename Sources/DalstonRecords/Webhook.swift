import Foundation

/// The events a webhook can subscribe to; `*` subscribes to all.
public enum WebhookEvent: String, Sendable, CaseIterable, Codable {
    case transcriptionCompleted = "transcription.completed"
    case transcriptionFailed = "transcription.failed"

    /// Reads a subscription list; an unknown name is an error naming the known ones.
    public static func parseSubscriptions(_ names: [String]) throws(RecordStoreError) -> [String] {
        guard !names.isEmpty else { throw .configuration("events must list at least one of: \(allowed.joined(separator: ", "))") }
        for name in names where !allowed.contains(name) {
            throw .configuration("unknown event \"\(name.prefix(64))\": use \(allowed.joined(separator: ", "))")
        }
        return Array(Set(names)).sorted()
    }

    static let allowed = allCases.map(\.rawValue) + ["*"]
}

/// A registered webhook endpoint (never with its signing secret, which is shown once).
public struct WebhookEndpoint: Sendable, Equatable {
    public var id: String
    public var url: String
    public var events: [String]
    public var description: String?
    public var isActive: Bool
    public var disabledReason: String?
    public var consecutiveFailures: Int
    public var lastSuccessAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    func subscribes(to event: WebhookEvent) -> Bool {
        events.contains("*") || events.contains(event.rawValue)
    }
}

/// One message to one endpoint about one job's end, with its attempts so far.
public struct WebhookDelivery: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Waiting for its first or next attempt.
        case pending
        case success
        /// Given up after every attempt (`POST .../retry` starts again).
        case failed
    }

    public var id: String
    /// nil for a job's own `webhook_url`.
    public var endpointID: String?
    public var jobID: String
    public var requestID: String?
    public var event: String
    public var url: String
    /// The exact JSON body sent (and signed).
    public var payload: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastAttemptAt: Date?
    public var lastStatusCode: Int?
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?
}
