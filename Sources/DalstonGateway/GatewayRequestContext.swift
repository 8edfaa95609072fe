package import Hummingbird
package import HummingbirdWebSocket
import Logging
import NIOCore

/// Per-request state the gateway's handlers need: the correlation id, and who is calling.
package struct GatewayRequestContext: RequestContext, WebSocketRequestContext {
    package var coreContext: CoreRequestContextStorage
    /// Set by `RequestIDMiddleware` before any handler runs.
    package var requestID: String = ""
    /// The caller for per-client limits: a fingerprint of its API key (never the key); nil when
    /// the gateway runs without keys. Set by `AuthenticationMiddleware`.
    package var clientKey: String?
    /// The checked API key's identity and scopes (nil when the gateway runs without keys).
    package var caller: AuthenticatedCaller?
    /// Whose jobs the caller sees: its key's tenant; nil on a keyless gateway (everyone's).
    package var tenant: String? { caller?.tenantID }
    /// Where a WebSocket route leaves its handler for the upgrade.
    package let webSocket = WebSocketHandlerReference<GatewayRequestContext>()
    /// The client's connection (a refused WebSocket upgrade records its answer against it).
    let connection: (any Channel)?

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.connection = source.channel
    }
}
