package import Foundation

/// The events a webhook can subscribe to; `*` subscribes to all.
package enum WebhookEvent: String, Sendable, CaseIterable, Codable {
    case transcriptionCompleted = "transcription.completed"
    case transcriptionFailed = "transcription.failed"

    /// Reads a subscription list; an unknown name is an error naming the known ones.
    package static func parseSubscriptions(_ names: [String]) throws(RecordStoreError) -> [String] {
        guard !names.isEmpty else { throw .configuration("events must list at least one of: \(allowed.joined(separator: ", "))") }
        for name in names where !allowed.contains(name) {
            throw .configuration("unknown event \"\(name.prefix(64))\": use \(allowed.joined(separator: ", "))")
        }
        return Array(Set(names)).sorted()
    }

    static let allowed = allCases.map(\.rawValue) + ["*"]
}

/// A registered webhook endpoint (never with its signing secret, which is shown once).
package struct WebhookEndpoint: Sendable, Equatable {
    package var id: String
    package var url: String
    package var events: [String]
    package var description: String?
    package var isActive: Bool
    package var disabledReason: String?
    package var consecutiveFailures: Int
    package var lastSuccessAt: Date?
    package var createdAt: Date
    package var updatedAt: Date

    func subscribes(to event: WebhookEvent) -> Bool {
        events.contains("*") || events.contains(event.rawValue)
    }
}

/// One message to one endpoint about one job's end, with its attempts so far.
package struct WebhookDelivery: Sendable, Equatable {
    package enum Status: String, Sendable {
        /// Waiting for its first or next attempt.
        case pending
        case success
        /// Given up after every attempt (`POST .../retry` starts again).
        case failed
    }

    package var id: String
    /// nil for a job's own `webhook_url`.
    package var endpointID: String?
    package var jobID: String
    package var requestID: String?
    package var event: String
    package var url: String
    /// The exact JSON body sent (and signed).
    package var payload: String
    package var status: Status
    package var attempts: Int
    package var nextAttemptAt: Date?
    package var lastAttemptAt: Date?
    package var lastStatusCode: Int?
    package var lastError: String?
    package var createdAt: Date
    package var deliveredAt: Date?
}
