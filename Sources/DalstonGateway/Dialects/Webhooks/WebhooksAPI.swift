import DalstonBroker
import DalstonOutboundHTTP
import DalstonRecords
import Foundation
import Hummingbird

/// Webhook endpoints that hear `transcription.completed` and `transcription.failed`, and their
/// deliveries (the `webhooks` scope). Answers 501 without a record database.
struct WebhooksAPI: Sendable {
    let records: RecordStore?
    let audit: AuditTrail
    let guards: RouteGuards
    /// Which addresses receivers may have (`DALSTON_ALLOW_PRIVATE_URLS`).
    let addressPolicy: AddressPolicy

    /// Mounted at `/v1/webhooks`.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .scope(.webhooks))
        routes.post { request, context in
            let body = try await JSONRequestBody.read(request, allowed: ["url", "events", "description"], example: Self.example)
            let url = try await Self.webhookURL(body["url"], policy: self.addressPolicy)
            let events = try Self.events(body["events"]) ?? { throw APIError.badRequest("events is required, e.g. [\"transcription.completed\"]", param: "events") }()
            let (endpoint, secret) = try await self.webhookTable().create(url: url, events: events, description: try Self.description(body["description"]))
            try await self.audit.record(context, "webhook.created", endpoint.id, detail: url)
            return EditedResponse(status: .created, response: WebhookEndpointResponse(endpoint, signingSecret: secret))
        }
        routes.get { request, _ in
            let active = try request.uri.queryParameters.get("is_active").map { text throws -> Bool in
                guard let value = Bool(text) else { throw APIError.badRequest("is_active must be true or false", param: "is_active") }
                return value
            }
            return WebhookEndpointListResponse(endpoints: try await self.webhookTable().endpoints(active: active).map { WebhookEndpointResponse($0) })
        }
        routes.get("{id}") { _, context in
            WebhookEndpointResponse(try await self.endpoint(context))
        }
        routes.patch("{id}") { request, context in
            let id = try context.parameters.require("id")
            let body = try await JSONRequestBody.read(request, allowed: ["url", "events", "description", "is_active"], example: Self.example)
            var isActive: Bool?
            if let value = body["is_active"] {
                guard let flag = value.boolValue else { throw APIError.badRequest("is_active must be true or false", param: "is_active") }
                isActive = flag
            }
            var url: String?
            if let value = body["url"] { url = try await Self.webhookURL(value, policy: self.addressPolicy) }
            let updated = try await self.webhookTable().update(
                id, url: url, events: try Self.events(body["events"]),
                description: try Self.description(body["description"]), isActive: isActive)
            guard let updated else { throw APIError.notFound("no webhook \(id.prefix(64))") }
            try await self.audit.record(context, "webhook.updated", id, detail: body.names.joined(separator: ","))
            return WebhookEndpointResponse(updated)
        }
        routes.delete("{id}") { _, context in
            let id = try context.parameters.require("id")
            guard try await self.webhookTable().delete(id) else { throw APIError.notFound("no webhook \(id.prefix(64))") }
            try await self.audit.record(context, "webhook.deleted", id)
            return Response(status: .noContent)
        }
        routes.post("{id}/rotate-secret") { _, context in
            let id = try context.parameters.require("id")
            guard let secret = try await self.webhookTable().rotateSecret(id), let endpoint = try await self.webhookTable().endpoint(id) else {
                throw APIError.notFound("no webhook \(id.prefix(64))")
            }
            try await self.audit.record(context, "webhook.secret_rotated", id)
            return WebhookEndpointResponse(endpoint, signingSecret: secret)
        }
        routes.get("{id}/deliveries") { request, context in
            let endpoint = try await self.endpoint(context)
            let parameters = request.uri.queryParameters
            let limit = try parameters.get("limit").map { text throws -> Int in
                guard let value = Int(text), (1...100).contains(value) else { throw APIError.badRequest("limit must be a number from 1 to 100", param: "limit") }
                return value
            } ?? 20
            let offset = try parameters.get("offset").map { text throws -> Int in
                guard let value = Int(text), value >= 0 else { throw APIError.badRequest("offset must be a number from 0", param: "offset") }
                return value
            } ?? 0
            let status = try parameters.get("status").map { text throws -> WebhookDelivery.Status in
                guard let value = WebhookDelivery.Status(rawValue: text) else { throw APIError.badRequest("status must be pending, success or failed", param: "status") }
                return value
            }
            let deliveries = try await self.webhookTable().deliveries(endpointID: endpoint.id, status: status, limit: limit, offset: offset)
            return WebhookDeliveryListResponse(deliveries: deliveries.map(WebhookDeliveryResponse.init), limit: limit, offset: offset)
        }
        routes.post("{id}/deliveries/{delivery}/retry") { _, context in
            let id = try context.parameters.require("id")
            let deliveryID = try context.parameters.require("delivery")
            guard let delivery = try await self.webhookTable().retry(deliveryID, endpointID: id) else {
                throw APIError(.conflict, code: "not_retryable", message: "no failed delivery \(deliveryID.prefix(64)) of webhook \(id.prefix(64)); only failed deliveries are retried")
            }
            try await self.audit.record(context, "webhook.delivery_retried", id, detail: deliveryID)
            return WebhookDeliveryResponse(delivery)
        }
        return routes
    }

    private func webhookTable() throws -> WebhookTable {
        guard let records else {
            throw APIError(.notImplemented, code: "webhooks_unavailable", message: "webhooks need the record database, which this gateway runs without")
        }
        return records.webhooks
    }

    private func endpoint(_ context: GatewayRequestContext) async throws -> WebhookEndpoint {
        let id = try context.parameters.require("id")
        guard let endpoint = try await webhookTable().endpoint(id) else { throw APIError.notFound("no webhook \(id.prefix(64))") }
        return endpoint
    }

    static let example = #"{"url": "https://example.com/hook", "events": ["transcription.completed"]}"#

    /// An absolute http(s) URL with a host.
    static func webhookURL(_ value: JSONValue?, policy: AddressPolicy) async throws -> String {
        try await webhookURL(text: value?.stringValue, param: "url", policy: policy)
    }

    /// An absolute http(s) URL whose host resolves to addresses the policy allows (public ones,
    /// unless private networks are allowed): the server must not be made to call its own network.
    static func webhookURL(text: String?, param: String, policy: AddressPolicy) async throws -> String {
        guard let text, text.utf8.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = url.host, !host.isEmpty else {
            throw APIError.badRequest("\(param) must be an absolute http or https URL", param: param)
        }
        do {
            try await GuardedHTTPClient(policy: policy).check(url)
        } catch .refused(let reason) {
            throw APIError(.badRequest, code: "url_not_allowed", message: "\(param) is refused: \(reason)", param: param, dialect: nil)
        } catch {
            throw APIError.badRequest("\(param) cannot be used: \(error.description)", param: param)
        }
        return text
    }

    static func events(_ value: JSONValue?) throws -> [String]? {
        guard let value else { return nil }
        guard let names = value.stringList else { throw APIError.badRequest("events must be a list of event names", param: "events") }
        do {
            return try WebhookEvent.parseSubscriptions(names)
        } catch {
            throw APIError.badRequest(error.description, param: "events")
        }
    }

    static func description(_ value: JSONValue?) throws -> String? {
        guard let value else { return nil }
        guard let text = value.stringValue, text.count <= 255 else { throw APIError.badRequest("description must be text of at most 255 characters", param: "description") }
        return text
    }
}
