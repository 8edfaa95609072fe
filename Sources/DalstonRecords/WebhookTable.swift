import DalstonBroker
import DalstonPipeline
package import Foundation

/// Webhook endpoints and their deliveries. A job's end inserts its deliveries in the same
/// transaction as the job's final record (an outbox), so no end goes unannounced whatever
/// crashes; dispatchers claim due deliveries with a lease, so any number of them can run.
package struct WebhookTable: Sendable {
    let database: any RecordDatabase

    package init(database: any RecordDatabase) {
        self.database = database
    }

    // MARK: Endpoints

    package func create(url: String, events: [String], description: String?, now: Date = Date()) async throws(RecordStoreError) -> (WebhookEndpoint, secret: String) {
        let events = try WebhookEvent.parseSubscriptions(events)
        let secret = Self.newSecret()
        let endpoint = WebhookEndpoint(
            id: "wh_" + APIKeyTable.randomCharacters(20, from: APIKeyTable.lowercaseHex), url: url, events: events, description: description,
            isActive: true, disabledReason: nil, consecutiveFailures: 0, lastSuccessAt: nil, createdAt: now, updatedAt: now)
        try await database.query(
            """
            INSERT INTO webhooks (id, url, events, description, signing_secret, active, consecutive_failures, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, 1, 0, $6, $6)
            """,
            [.text(endpoint.id), .text(url), .text(events.joined(separator: ",")), .text(description), .text(secret), .text(RecordTime.text(now))])
        return (endpoint, secret)
    }

    package func endpoints(active: Bool? = nil) async throws(RecordStoreError) -> [WebhookEndpoint] {
        let rows = if let active {
            try await database.query("SELECT * FROM webhooks WHERE active = $1 ORDER BY created_at, id", [.integer(active ? 1 : 0)])
        } else {
            try await database.query("SELECT * FROM webhooks ORDER BY created_at, id", [])
        }
        var endpoints: [WebhookEndpoint] = []
        for row in rows { endpoints.append(try Self.endpoint(row)) }
        return endpoints
    }

    package func endpoint(_ id: String) async throws(RecordStoreError) -> WebhookEndpoint? {
        try await database.query("SELECT * FROM webhooks WHERE id = $1", [.text(id)]).first.map { row throws(RecordStoreError) in try Self.endpoint(row) }
    }

    /// Changes what is given; re-enabling clears the failure count and the reason it was disabled.
    package func update(
        _ id: String, url: String?, events: [String]?, description: String?, isActive: Bool?, now: Date = Date()
    ) async throws(RecordStoreError) -> WebhookEndpoint? {
        guard var endpoint = try await endpoint(id) else { return nil }
        if let url { endpoint.url = url }
        if let events { endpoint.events = try WebhookEvent.parseSubscriptions(events) }
        if let description { endpoint.description = description }
        if let isActive {
            if isActive && !endpoint.isActive {
                endpoint.consecutiveFailures = 0
                endpoint.disabledReason = nil
            }
            endpoint.isActive = isActive
            if !isActive { endpoint.disabledReason = endpoint.disabledReason ?? "disabled" }
        }
        endpoint.updatedAt = now
        try await database.query(
            """
            UPDATE webhooks SET url = $2, events = $3, description = $4, active = $5, disabled_reason = $6, consecutive_failures = $7, updated_at = $8
            WHERE id = $1
            """,
            [.text(id), .text(endpoint.url), .text(endpoint.events.joined(separator: ",")), .text(endpoint.description), .integer(endpoint.isActive ? 1 : 0),
             .text(endpoint.disabledReason), .integer(endpoint.consecutiveFailures), .text(RecordTime.text(now))])
        return endpoint
    }

    /// Deletes the endpoint and its delivery history; `false` when there was none.
    package func delete(_ id: String) async throws(RecordStoreError) -> Bool {
        try await database.transaction { transaction throws(RecordStoreError) -> Bool in
            try await transaction.query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1", [.text(id)])
            return !(try await transaction.query("DELETE FROM webhooks WHERE id = $1 RETURNING id", [.text(id)])).isEmpty
        }
    }

    /// A new signing secret; the old one stops working at once. nil when there is no such endpoint.
    package func rotateSecret(_ id: String, now: Date = Date()) async throws(RecordStoreError) -> String? {
        let secret = Self.newSecret()
        let rows = try await database.query(
            "UPDATE webhooks SET signing_secret = $2, updated_at = $3 WHERE id = $1 RETURNING id", [.text(id), .text(secret), .text(RecordTime.text(now))])
        return rows.isEmpty ? nil : secret
    }

    // MARK: Deliveries

    package func deliveries(endpointID: String?, jobID: String? = nil, status: WebhookDelivery.Status? = nil, limit: Int = 20, offset: Int = 0) async throws(RecordStoreError) -> [WebhookDelivery] {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let endpointID {
            binds.append(.text(endpointID))
            conditions.append("endpoint_id = $\(binds.count)")
        }
        if let jobID {
            binds.append(.text(jobID))
            conditions.append("job_id = $\(binds.count)")
        }
        if let status {
            binds.append(.text(status.rawValue))
            conditions.append("status = $\(binds.count)")
        }
        binds += [.integer(limit), .integer(offset)]
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        var deliveries: [WebhookDelivery] = []
        for row in try await database.query(
            "SELECT * FROM webhook_deliveries \(filter) ORDER BY created_at DESC, id DESC LIMIT $\(binds.count - 1) OFFSET $\(binds.count)", binds) {
            deliveries.append(try Self.delivery(row))
        }
        return deliveries
    }

    /// Starts a failed delivery again from its first attempt; nil when it is not a failed delivery of this endpoint.
    package func retry(_ deliveryID: String, endpointID: String, now: Date = Date()) async throws(RecordStoreError) -> WebhookDelivery? {
        try await database.query(
            """
            UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = $3, lease_until_ms = 0
            WHERE id = $1 AND endpoint_id = $2 AND status = 'failed' RETURNING *
            """,
            [.text(deliveryID), .text(endpointID), .integer(RecordTime.milliseconds(now))]).first.map { row throws(RecordStoreError) in try Self.delivery(row) }
    }

    /// A purged job's deliveries, whatever their status.
    package func deleteDeliveries(ofJob jobID: String) async throws(RecordStoreError) {
        try await database.query("DELETE FROM webhook_deliveries WHERE job_id = $1", [.text(jobID)])
    }

    /// Deliveries waiting, for the gauge.
    package func pendingCount() async throws(RecordStoreError) -> Int {
        try await database.query("SELECT COUNT(*) AS pending FROM webhook_deliveries WHERE status = 'pending'", []).first?.optionalInt("pending") ?? 0
    }

    /// A delivery to make now, with the secret to sign it (nil for a job's own URL: the
    /// dispatcher's `DALSTON_WEBHOOK_SECRET`).
    package struct Claimed: Sendable {
        package var delivery: WebhookDelivery
        package var secret: String?
    }

    /// Takes up to `limit` due deliveries for `lease` (another dispatcher skips them meanwhile;
    /// a dispatcher that dies leaves them to be taken again when the lease ends), counting the attempt.
    package func claimDue(now: Date = Date(), lease: Duration, limit: Int) async throws(RecordStoreError) -> [Claimed] {
        let nowMilliseconds = RecordTime.milliseconds(now)
        let rows = try await database.query(
            """
            UPDATE webhook_deliveries SET lease_until_ms = $1, attempts = attempts + 1, last_attempt_at = $2
            WHERE id IN (
                SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_ms <= $3 AND lease_until_ms <= $3
                ORDER BY next_attempt_ms LIMIT $4)
              AND status = 'pending' AND lease_until_ms <= $3
            RETURNING *
            """,
            [.integer(nowMilliseconds + Int64(lease.seconds * 1000)), .text(RecordTime.text(now)), .integer(nowMilliseconds), .integer(limit)])
        var claimed: [Claimed] = []
        for row in rows {
            let delivery = try Self.delivery(row)
            var secret: String?
            if let endpointID = delivery.endpointID {
                secret = try await database.query("SELECT signing_secret FROM webhooks WHERE id = $1", [.text(endpointID)]).first?.optionalString("signing_secret")
            }
            claimed.append(Claimed(delivery: delivery, secret: secret))
        }
        return claimed
    }

    /// The receiver answered 2xx.
    package func recordSuccess(_ delivery: WebhookDelivery, statusCode: Int, now: Date = Date()) async throws(RecordStoreError) {
        try await database.transaction { transaction throws(RecordStoreError) in
            try await transaction.query(
                """
                UPDATE webhook_deliveries SET status = 'success', delivered_at = $2, last_status_code = $3, last_error = NULL, lease_until_ms = 0
                WHERE id = $1
                """,
                [.text(delivery.id), .text(RecordTime.text(now)), .integer(statusCode)])
            if let endpointID = delivery.endpointID {
                try await transaction.query(
                    "UPDATE webhooks SET consecutive_failures = 0, last_success_at = $2 WHERE id = $1", [.text(endpointID), .text(RecordTime.text(now))])
            }
        }
    }

    /// An endpoint is disabled after this many failures in a row with no success for a week.
    static let disableAfterFailures = 10
    static let disableAfterQuiet: TimeInterval = 7 * 86_400

    /// The attempt failed: again at `retryAt`, or given up (`nil`). Returns whether the
    /// endpoint was disabled by this failure.
    @discardableResult
    package func recordFailure(
        _ delivery: WebhookDelivery, statusCode: Int?, error: String, retryAt: Date?, now: Date = Date()
    ) async throws(RecordStoreError) -> Bool {
        try await database.transaction { transaction throws(RecordStoreError) -> Bool in
            try await transaction.query(
                """
                UPDATE webhook_deliveries SET status = $2, next_attempt_ms = $3, last_status_code = $4, last_error = $5, lease_until_ms = 0
                WHERE id = $1
                """,
                [.text(delivery.id), .text(retryAt == nil ? WebhookDelivery.Status.failed.rawValue : WebhookDelivery.Status.pending.rawValue),
                 .integer(RecordTime.milliseconds(retryAt ?? now)), .integer(statusCode), .text(String(error.prefix(500)))])
            guard let endpointID = delivery.endpointID, retryAt == nil else { return false }
            let rows = try await transaction.query(
                "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE id = $1 RETURNING consecutive_failures, last_success_at, created_at",
                [.text(endpointID)])
            guard let row = rows.first, (row.optionalInt("consecutive_failures") ?? 0) >= Self.disableAfterFailures else { return false }
            let lastGood = RecordTime.date(row.optionalString("last_success_at")) ?? RecordTime.date(row.optionalString("created_at")) ?? now
            guard now.timeIntervalSince(lastGood) >= Self.disableAfterQuiet else { return false }
            try await transaction.query(
                "UPDATE webhooks SET active = 0, disabled_reason = 'auto_disabled', updated_at = $2 WHERE id = $1", [.text(endpointID), .text(RecordTime.text(now))])
            return true
        }
    }

    // MARK: The outbox

    /// Inserts the deliveries announcing a job's end, once per job, event and URL (saving the
    /// same final record again adds none). Runs inside the transaction that saves the job.
    static func enqueueDeliveries(for job: JobRecord, fields: [String: String], in transaction: any SQLExecutor, now: Date = Date()) async throws(RecordStoreError) {
        let event: WebhookEvent
        switch job.status {
        case .completed: event = .transcriptionCompleted
        case .failed: event = .transcriptionFailed
        default: return
        }
        var targets: [(endpointID: String?, url: String)] = []
        for row in try await transaction.query("SELECT * FROM webhooks WHERE active = 1", []) {
            let endpoint = try endpoint(row)
            if endpoint.subscribes(to: event) { targets.append((endpoint.id, endpoint.url)) }
        }
        if let url = fields[JobField.webhookURL], !url.isEmpty { targets.append((nil, url)) }
        for target in targets {
            let id = "msg_" + APIKeyTable.randomCharacters(24, from: APIKeyTable.base62)
            try await transaction.query(
                """
                INSERT INTO webhook_deliveries (id, endpoint_id, job_id, request_id, event, url, payload, status, attempts, next_attempt_ms, lease_until_ms, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, 0, $9)
                ON CONFLICT (job_id, event, url) DO NOTHING
                """,
                [.text(id), .text(target.endpointID), .text(job.id), .text(job.requestID.isEmpty ? nil : job.requestID), .text(event.rawValue),
                 .text(target.url), .text(payload(id: id, event: event, job: job, metadata: fields[JobField.webhookMetadata], now: now)),
                 .integer(RecordTime.milliseconds(now)), .text(RecordTime.text(now))])
        }
    }

    /// The body, in the Standard Webhooks shape Dalston's clients verify.
    static func payload(id: String, event: WebhookEvent, job: JobRecord, metadata: String?, now: Date) -> String {
        let body = WebhookPayload(
            id: "evt_" + id.dropFirst("msg_".count), type: event.rawValue, createdAt: Int(now.timeIntervalSince1970),
            data: .init(
                transcriptionID: job.id, status: job.status.rawValue, requestID: job.requestID.isEmpty ? nil : job.requestID,
                duration: job.audioDurationSeconds, error: job.error,
                webhookMetadata: metadata.flatMap { try? JSONDecoder().decode([String: JSONValue].self, from: Data($0.utf8)) }))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(body)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries expect.
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    static func endpoint(_ row: SQLRow) throws(RecordStoreError) -> WebhookEndpoint {
        WebhookEndpoint(
            id: try row.string("id"), url: try row.string("url"), events: try row.string("events").split(separator: ",").map(String.init),
            description: row.optionalString("description"), isActive: row.optionalInt("active") == 1, disabledReason: row.optionalString("disabled_reason"),
            consecutiveFailures: row.optionalInt("consecutive_failures") ?? 0, lastSuccessAt: RecordTime.date(row.optionalString("last_success_at")),
            createdAt: RecordTime.date(row.optionalString("created_at")) ?? Date(timeIntervalSince1970: 0),
            updatedAt: RecordTime.date(row.optionalString("updated_at")) ?? Date(timeIntervalSince1970: 0))
    }

    static func delivery(_ row: SQLRow) throws(RecordStoreError) -> WebhookDelivery {
        let status = WebhookDelivery.Status(rawValue: try row.string("status")) ?? .failed
        return WebhookDelivery(
            id: try row.string("id"), endpointID: row.optionalString("endpoint_id"), jobID: try row.string("job_id"), requestID: row.optionalString("request_id"),
            event: try row.string("event"), url: try row.string("url"), payload: try row.string("payload"), status: status,
            attempts: row.optionalInt("attempts") ?? 0,
            nextAttemptAt: status == .pending ? row.optionalInt("next_attempt_ms").map { Date(timeIntervalSince1970: Double($0) / 1000) } : nil,
            lastAttemptAt: RecordTime.date(row.optionalString("last_attempt_at")), lastStatusCode: row.optionalInt("last_status_code"),
            lastError: row.optionalString("last_error"), createdAt: RecordTime.date(row.optionalString("created_at")) ?? Date(timeIntervalSince1970: 0),
            deliveredAt: RecordTime.date(row.optionalString("delivered_at")))
    }
}

/// A webhook's body: `{object: "event", id, type, created_at, data}` (Standard Webhooks).
struct WebhookPayload: Codable, Sendable {
    struct JobData: Codable, Sendable {
        let transcriptionID: String
        let status: String
        let requestID: String?
        let duration: Double?
        let error: String?
        /// The client's `webhook_metadata`, echoed.
        let webhookMetadata: [String: JSONValue]?

        enum CodingKeys: String, CodingKey {
            case status, duration, error
            case transcriptionID = "transcription_id"
            case requestID = "request_id"
            case webhookMetadata = "webhook_metadata"
        }
    }

    var object = "event"
    let id: String
    let type: String
    let createdAt: Int
    let data: JobData

    enum CodingKeys: String, CodingKey {
        case object, id, type, data
        case createdAt = "created_at"
    }
}
