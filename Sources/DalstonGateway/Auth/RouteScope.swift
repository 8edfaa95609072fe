import DalstonRecords
import HTTPTypes

/// The scope each route needs: reading needs `jobs:read`, changing jobs `jobs:write`, live
/// sessions `realtime`, webhooks `webhooks`; `/auth/me` any valid key.
enum RouteScope {
    /// Probes and metrics are open; `/admin/` checks its own token (`DALSTON_ADMIN_TOKEN`),
    /// which API keys do not replace.
    static func isPublic(_ path: String) -> Bool {
        path == "/health" || path == "/ready" || path == "/metrics" || path.hasPrefix("/admin/")
    }

    /// nil: any valid key will do.
    static func required(method: HTTPRequest.Method, path: String) -> APIKeyScope? {
        if path == "/auth/me" { return nil }
        if realtimeStreams.contains(path) { return .realtime }
        if path.hasPrefix("/v1/webhooks") { return .webhooks }
        switch method {
        case .get, .head, .options: return .jobsRead
        default: return .jobsWrite
        }
    }

    /// The WebSocket endpoints of the three realtime dialects.
    static let realtimeStreams: Set<String> = ["/v1/audio/transcriptions/stream", "/v1/speech-to-text/realtime", "/v1/realtime"]
}
