import DalstonCore
import DalstonRecords
import Hummingbird

/// A webhook endpoint; `signing_secret` only when it was just made or rotated.
struct WebhookEndpointResponse: ResponseEncodable {
    let id: String
    let url: String
    let events: [String]
    let description: String?
    let isActive: Bool
    let disabledReason: String?
    let consecutiveFailures: Int
    let lastSuccessAt: String?
    let createdAt: String
    let updatedAt: String
    let signingSecret: String?

    init(_ endpoint: WebhookEndpoint, signingSecret: String? = nil) {
        id = endpoint.id
        url = endpoint.url
        events = endpoint.events
        description = endpoint.description
        isActive = endpoint.isActive
        disabledReason = endpoint.disabledReason
        consecutiveFailures = endpoint.consecutiveFailures
        lastSuccessAt = endpoint.lastSuccessAt.map(Timestamp.string)
        createdAt = Timestamp.string(endpoint.createdAt)
        updatedAt = Timestamp.string(endpoint.updatedAt)
        self.signingSecret = signingSecret
    }

    enum CodingKeys: String, CodingKey {
        case id, url, events, description
        case isActive = "is_active"
        case disabledReason = "disabled_reason"
        case consecutiveFailures = "consecutive_failures"
        case lastSuccessAt = "last_success_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case signingSecret = "signing_secret"
    }
}

/// `GET /v1/webhooks`.
struct WebhookEndpointListResponse: ResponseEncodable {
    let endpoints: [WebhookEndpointResponse]
}

/// One delivery and how it went.
struct WebhookDeliveryResponse: ResponseEncodable {
    let id: String
    let endpointID: String?
    let jobID: String
    let requestID: String?
    let eventType: String
    let status: String
    let attempts: Int
    let nextAttemptAt: String?
    let lastAttemptAt: String?
    let lastStatusCode: Int?
    let lastError: String?
    let createdAt: String
    let deliveredAt: String?

    init(_ delivery: WebhookDelivery) {
        id = delivery.id
        endpointID = delivery.endpointID
        jobID = delivery.jobID
        requestID = delivery.requestID
        eventType = delivery.event
        status = delivery.status.rawValue
        attempts = delivery.attempts
        nextAttemptAt = delivery.nextAttemptAt.map(Timestamp.string)
        lastAttemptAt = delivery.lastAttemptAt.map(Timestamp.string)
        lastStatusCode = delivery.lastStatusCode
        lastError = delivery.lastError
        createdAt = Timestamp.string(delivery.createdAt)
        deliveredAt = delivery.deliveredAt.map(Timestamp.string)
    }

    enum CodingKeys: String, CodingKey {
        case id, status, attempts
        case endpointID = "endpoint_id"
        case jobID = "job_id"
        case requestID = "request_id"
        case eventType = "event_type"
        case nextAttemptAt = "next_attempt_at"
        case lastAttemptAt = "last_attempt_at"
        case lastStatusCode = "last_status_code"
        case lastError = "last_error"
        case createdAt = "created_at"
        case deliveredAt = "delivered_at"
    }
}

/// `GET /v1/webhooks/{id}/deliveries`.
struct WebhookDeliveryListResponse: ResponseEncodable {
    let deliveries: [WebhookDeliveryResponse]
    let limit: Int
    let offset: Int
}
