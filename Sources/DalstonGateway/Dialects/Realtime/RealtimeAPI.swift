import DalstonCore
import DalstonPipeline
import DalstonPropagation
import DalstonRealtime
import DalstonSessionRouter
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket

/// A dialect's realtime WebSocket endpoint.
struct RealtimeEndpoint: Sendable {
    let path: String
    let kind: RealtimeProtocol
}

/// Live sessions: the WebSocket endpoint each dialect declares (adapted to the session relay),
/// and the realtime capacity, workers and recorded sessions over HTTP.
struct RealtimeAPI: Sendable {
    /// The session router and the session records (nil: realtime refused).
    let realtime: RealtimeGateway?
    let relay: SessionRelay?
    let guards: RouteGuards
    /// Ends sessions whose key is revoked or expires while they run (nil: no key database).
    let keyStatus: KeyStatusWatch?
    /// Each dialect's WebSocket path (declared in its folder) and the protocol spoken there.
    let endpoints: [RealtimeEndpoint]
    /// Where sessions opened with `store_audio`/`store_transcript` keep them.
    let artifacts: any ArtifactStore
    /// How long a presigned download URL lives, when downloads redirect to the object store.
    let presignedDownloads: Duration?

    /// The WebSocket endpoints, on the router that decides upgrades: request ids and API keys
    /// are checked before the upgrade (a bad key is a 401 handshake), everything else after it,
    /// in the client's dialect.
    func webSocketRouter() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        // Metrics come from the HTTP router when the upgrade is refused; upgraded connections
        // are counted as WebSocket connections.
        router.add(middleware: UpgradeRefusalMiddleware())
        router.add(middleware: RequestIDMiddleware())
        // A refusal is a response (a 401 with its JSON), not an error, so that it is recorded.
        router.add(middleware: ErrorShapeMiddleware(.native))
        router.add(middleware: AuthenticationMiddleware(.scope(.realtime), keys: guards.keys))
        router.add(middleware: guards.rateLimit)
        for endpoint in endpoints {
            router.ws(RouterPath(endpoint.path)) { inbound, outbound, context in
                await self.serveRealtime(endpoint.kind, inbound: inbound, outbound: outbound, context: context)
            }
        }
        return router
    }

    private func serveRealtime(
        _ kind: RealtimeProtocol, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        context: WebSocketRouterContext<GatewayRequestContext>
    ) async {
        guard let relay else {
            await kind.refuse(
                outbound, RealtimeError(code: "no_capacity", message: "this gateway has no session router configured", recoverable: false),
                close: 4503, reason: "Service unavailable")
            return
        }
        var query: [String: String] = [:]
        for (name, value) in context.request.uri.queryParameters { query[String(name)] = String(value) }
        var traceContext: [String: String] = [:]
        traceContext[MessageMetadataKey.traceparent] = context.request.headers[.traceparent]
        traceContext[MessageMetadataKey.tracestate] = context.request.headers[.tracestate]
        var authority: SessionRelay.Authority?
        if let keyStatus, let caller = context.requestContext.caller, caller.source != .environment {
            authority = SessionRelay.Authority { await keyStatus.refusal(for: caller) }
        }
        await relay.serve(
            kind, inbound: inbound, outbound: outbound, query: query, traceContext: traceContext,
            requestID: context.requestContext.requestID, clientKey: context.requestContext.clientKey,
            tenantID: context.requestContext.tenant ?? Tenancy.defaultTenant, authority: authority)
    }

    /// A clear 426 for a plain GET on a WebSocket path (which needs the `realtime` scope).
    func webSocketPathRoutes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .scope(.realtime))
        for endpoint in endpoints {
            routes.get(RouterPath(endpoint.path)) { _, _ -> Response in
                throw APIError(
                    HTTPResponse.Status(code: 426, reasonPhrase: "Upgrade Required"), code: "upgrade_required",
                    message: "\(endpoint.path) is a WebSocket endpoint: connect with a WebSocket client")
            }
        }
        return routes
    }

    /// Mounted at `/v1/realtime`: the realtime capacity, its workers and the recorded sessions.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.native, access: .jobs)
        routes.get("status") { _, _ in try await self.requireRealtime().router.status() }
        routes.get("workers") { _, _ in
            let realtime = try self.requireRealtime()
            let workers = try await realtime.router.store.workers()
            return RealtimeWorkerListResponse(
                workers: workers.map { RealtimeWorkerResponse($0, staleAfter: realtime.router.options.staleAfter) }, total: workers.count)
        }
        routes.get("workers/{id}") { _, context in
            let realtime = try self.requireRealtime()
            let id = try context.parameters.require("id")
            guard let worker = try await realtime.router.store.workers().first(where: { $0.workerID == id }) else {
                throw APIError(.notFound, code: "worker_not_found", message: "no realtime worker \(id); GET /v1/realtime/workers lists them")
            }
            return RealtimeWorkerResponse(worker, staleAfter: realtime.router.options.staleAfter)
        }
        routes.get("sessions") { request, context in try await self.listSessions(request, tenant: context.tenant) }
        routes.get("sessions/{id}") { _, context in
            RealtimeSessionResponse(try await self.session(try context.parameters.require("id"), tenant: context.tenant))
        }
        routes.delete("sessions/{id}") { _, context in
            let record = try await self.session(try context.parameters.require("id"), tenant: context.tenant)
            guard record.status != "active" else {
                throw APIError(.conflict, code: "session_active", message: "session \(record.id) is still running; end it first")
            }
            // Its stored audio and transcript first: a store that is down keeps the record (503, retry).
            try await self.artifacts.removeAll(of: .session(record.id))
            try await self.requireRealtime().records.delete(record.id)
            return RealtimeSessionDeletedResponse(deleted: true, sessionID: record.id)
        }
        routes.get("sessions/{id}/audio") { _, context in
            try await self.storedArtifact("audio.wav", of: try context.parameters.require("id"), tenant: context.tenant, type: "audio/wav", what: "audio", field: "store_audio")
        }
        routes.get("sessions/{id}/transcript") { _, context in
            try await self.storedArtifact(
                "transcript.json", of: try context.parameters.require("id"), tenant: context.tenant, type: "application/json", what: "transcript", field: "store_transcript")
        }
        return routes
    }

    /// A session's stored audio or transcript, streamed (or a redirect to a presigned URL).
    private func storedArtifact(_ name: String, of id: String, tenant: String?, type: String, what: String, field: String) async throws -> Response {
        let record = try await session(id, tenant: tenant)
        let reference = ArtifactReference(owner: .session(record.id), name: name)
        guard try await artifacts.exists(reference) else {
            throw APIError(
                .notFound, code: "\(what)_not_stored",
                message: "session \(record.id) has no stored \(what): open a session with \(field)=true to keep it (it is stored when the session ends)")
        }
        if let lifetime = presignedDownloads, let url = artifacts.downloadURL(for: reference, lifetime: lifetime) {
            return Response(status: .temporaryRedirect, headers: [.location: url.absoluteString, .cacheControl: "no-store"])
        }
        return try await ArtifactDownload.response(
            artifacts, reference, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(record.id)-\(name)\""])
    }

    private func requireRealtime() throws -> RealtimeGateway {
        guard let realtime else {
            throw APIError(.serviceUnavailable, code: "realtime_unavailable", message: "this gateway has no session router configured")
        }
        return realtime
    }

    /// The session, if the caller's tenant may see it (another tenant's is a 404).
    private func session(_ id: String, tenant: String?) async throws -> RealtimeSessionRecord {
        guard id.hasPrefix("sess_"), id.count <= 64, let record = try await requireRealtime().records.record(id),
            Tenancy.isVisible(owner: record.tenantID, to: tenant)
        else {
            throw APIError(.notFound, code: "session_not_found", message: "no realtime session \(id.prefix(64)); GET /v1/realtime/sessions lists them")
        }
        return record
    }

    private func listSessions(_ request: Request, tenant: String?) async throws -> RealtimeSessionListResponse {
        let parameters = request.uri.queryParameters
        let limit: Int
        if let text = parameters.get("limit") {
            guard let value = Int(text), (1...100).contains(value) else {
                throw APIError.badRequest("limit must be a whole number from 1 to 100", param: "limit")
            }
            limit = value
        } else {
            limit = 50
        }
        var before: Double?
        if let cursor = parameters.get("cursor") {
            guard let value = Double(cursor), value.isFinite else {
                throw APIError.badRequest("cursor must be the cursor of a previous page", param: "cursor")
            }
            before = value
        }
        let status = parameters.get("status")
        let statuses: Set<String> = ["active", "completed", "interrupted", "timeout", "error"]
        if let status, !statuses.contains(status) {
            throw APIError.badRequest("status must be one of \(statuses.sorted().joined(separator: ", "))", param: "status")
        }
        let records = try await requireRealtime().records.list(limit: limit + 1, before: before, status: status, tenantID: tenant)
        let page = Array(records.prefix(limit))
        let hasMore = records.count > limit
        return RealtimeSessionListResponse(
            sessions: page.map(RealtimeSessionSummaryResponse.init), cursor: hasMore ? page.last.map { String($0.startedAt.timeIntervalSince1970) } : nil,
            hasMore: hasMore)
    }
}
