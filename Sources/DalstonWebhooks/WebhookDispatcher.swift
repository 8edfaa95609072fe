package import DalstonCore
package import DalstonMetrics
package import DalstonOutboundHTTP
package import DalstonRecords
import Foundation
package import Logging
import ServiceLifecycle

/// How webhooks are delivered.
package struct WebhookDispatcherOptions: Sendable {
    /// How often due deliveries are looked for.
    package var pollInterval: Duration = .seconds(1)
    /// Waits before the 2nd, 3rd, ... attempt; after the last, the delivery is `failed`
    /// (`DALSTON_WEBHOOK_RETRY_DELAYS`, seconds, comma-separated).
    package var retryDelays: [Duration] = [.seconds(30), .seconds(120), .seconds(600), .seconds(3600)]
    /// How long a receiver may take to answer.
    package var timeout: Duration = .seconds(10)
    /// Deliveries in flight at once.
    package var concurrency = 8
    /// Signs deliveries to a job's own `webhook_url` (`DALSTON_WEBHOOK_SECRET`).
    package var perJobSecret: String?
    /// Which addresses receivers may have: public ones only, unless
    /// `DALSTON_ALLOW_PRIVATE_URLS=true` (checked at each delivery, against the address connected to).
    package var addressPolicy = AddressPolicy(allowsPrivate: false)

    package init() {}

    package static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> WebhookDispatcherOptions {
        var options = WebhookDispatcherOptions()
        options.perJobSecret = environment["DALSTON_WEBHOOK_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        options.addressPolicy = AddressPolicy.fromEnvironment(environment)
        options.timeout = try EnvironmentValue("DALSTON_WEBHOOK_TIMEOUT", in: environment).seconds(in: 0.1...300, default: options.timeout)
        if let text = environment["DALSTON_WEBHOOK_RETRY_DELAYS"], !text.isEmpty {
            var delays: [Duration] = []
            for part in text.split(separator: ",") {
                guard let seconds = Double(part.trimmingCharacters(in: .whitespaces)), seconds >= 0, seconds <= 604_800 else {
                    throw ConfigurationError(description: "DALSTON_WEBHOOK_RETRY_DELAYS=\(text) must be seconds separated by commas, e.g. 30,120,600,3600")
                }
                delays.append(.milliseconds(Int64(seconds * 1000)))
            }
            options.retryDelays = delays
        }
        return options
    }
}

/// Delivers webhooks from the record database's outbox: claims due deliveries with a lease,
/// POSTs each signed, and records the outcome, retrying with backoff. It runs beside the
/// pipeline and never in its way: a slow or dead receiver costs only its own deliveries.
package struct WebhookDispatcher: Service {
    let records: RecordStore
    let options: WebhookDispatcherOptions
    let instruments: Instruments
    let logger: Logger

    package init(records: RecordStore, options: WebhookDispatcherOptions, instruments: Instruments = .disabled, logger: Logger = Logger(label: "dalston.webhooks")) {
        self.records = records
        self.options = options
        self.instruments = instruments
        self.logger = logger
        for event in WebhookEvent.allCases {
            instruments.startAtZero(DalstonMetric.webhookDeliveries, ["success", "retry", "failed"].map { [("event", event.rawValue), ("outcome", $0)] })
        }
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let worked = await deliverDue()
                if !worked { try? await Task.sleep(for: options.pollInterval) }
            }
        }
    }

    /// One round: whatever is due, up to `concurrency` at once. `false` when nothing was due.
    func deliverDue() async -> Bool {
        let claimed: [WebhookTable.Claimed]
        do {
            claimed = try await records.webhooks.claimDue(lease: options.timeout * 3, limit: options.concurrency)
        } catch {
            logger.warning("webhook_claim_failed", metadata: ["error": "\(error)"])
            return false
        }
        guard !claimed.isEmpty else { return false }
        await withTaskGroup(of: Void.self) { group in
            for item in claimed {
                group.addTask { await deliver(item) }
            }
        }
        return true
    }

    func deliver(_ item: WebhookTable.Claimed) async {
        let delivery = item.delivery
        var metadata: Logger.Metadata = [
            "delivery_id": "\(delivery.id)", "job_id": "\(delivery.jobID)", "event": "\(delivery.event)", "attempt": .stringConvertible(delivery.attempts),
        ]
        if let requestID = delivery.requestID { metadata["request_id"] = "\(requestID)" }
        if let endpointID = delivery.endpointID { metadata["endpoint_id"] = "\(endpointID)" }
        var statusCode: Int?
        var failure: String?
        let start = ContinuousClock.now
        if let secret = item.secret ?? (delivery.endpointID == nil ? options.perJobSecret : nil) {
            do {
                statusCode = try await post(delivery, secret: secret)
                if let code = statusCode, !(200..<300).contains(code) { failure = "the receiver answered HTTP \(code)" }
            } catch {
                failure = "\(error)"
            }
        } else {
            failure = delivery.endpointID == nil
                ? "no DALSTON_WEBHOOK_SECRET to sign a job's own webhook_url with"
                : "the webhook endpoint was deleted"
        }
        instruments.record(DalstonMetric.webhookDeliveryDuration, [("event", delivery.event)], seconds: (ContinuousClock.now - start).seconds)
        do {
            if let failure {
                let delays = options.retryDelays
                let retryAt = delivery.attempts <= delays.count ? Date().addingTimeInterval(delays[delivery.attempts - 1].seconds) : nil
                let disabled = try await records.webhooks.recordFailure(delivery, statusCode: statusCode, error: failure, retryAt: retryAt)
                metadata["error"] = "\(failure)"
                if let code = statusCode { metadata["status_code"] = .stringConvertible(code) }
                if let retryAt {
                    metadata["retry_in_seconds"] = .stringConvertible(Int(retryAt.timeIntervalSinceNow.rounded()))
                    logger.warning("webhook_delivery_failed", metadata: metadata)
                } else {
                    logger.error("webhook_delivery_abandoned", metadata: metadata)
                }
                if disabled { logger.error("webhook_endpoint_disabled", metadata: metadata) }
                instruments.increment(DalstonMetric.webhookDeliveries, [("event", delivery.event), ("outcome", retryAt == nil ? "failed" : "retry")])
            } else {
                try await records.webhooks.recordSuccess(delivery, statusCode: statusCode ?? 200)
                metadata["status_code"] = .stringConvertible(statusCode ?? 200)
                logger.info("webhook_delivered", metadata: metadata)
                instruments.increment(DalstonMetric.webhookDeliveries, [("event", delivery.event), ("outcome", "success")])
            }
        } catch {
            // The lease runs out and another round tries again.
            logger.warning("webhook_outcome_not_recorded", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// POSTs the delivery; the receiver's status code.
    /// POSTs one delivery, signed; the receiver's status. Its address is checked against the
    /// policy at each attempt (a name may resolve elsewhere than when it was registered).
    func post(_ delivery: WebhookDelivery, secret: String) async throws -> Int {
        guard let url = URL(string: delivery.url) else { throw GuardedHTTPClient.Failure.invalidURL("not a URL") }
        let timestamp = Int(Date().timeIntervalSince1970)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("User-Agent", "Dalston-Webhooks/1"), ("webhook-id", delivery.id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", WebhookSigner.signature(id: delivery.id, timestamp: timestamp, body: delivery.payload, secret: secret)),
            ("X-Dalston-Webhook-Id", delivery.id),
        ]
        if let requestID = delivery.requestID { headers.append(("X-Request-ID", requestID)) }
        let client = GuardedHTTPClient(policy: options.addressPolicy)
        // A bounded body is read (and dropped): a receiver's answer is its status.
        let limits = GuardedHTTPClient.Limits(maximumBytes: 64 * 1024, maximumRedirects: 0, connectTimeout: min(.seconds(5), options.timeout), deadline: options.timeout)
        let (answer, _) = try await client.send(method: "POST", url: url, headers: headers, body: Array(delivery.payload.utf8), limits: limits)
        return answer.status
    }
}
