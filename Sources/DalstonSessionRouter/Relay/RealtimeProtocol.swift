package import DalstonRealtime
package import HummingbirdWebSocket

/// The WebSocket protocols the gateway speaks to clients (each at the path its dialect's
/// folder in the gateway chooses).
package enum RealtimeProtocol: String, CaseIterable, Sendable {
    case native
    case elevenlabs
    case openai

    /// The worker's settings and the connection's dialect, from the client's query.
    package func open(query: [String: String], sessionID: String) throws(InvalidSessionParameter) -> (SessionSettings, any RealtimeDialect) {
        switch self {
        case .native: (try NativeDialect.settings(query: query, sessionID: sessionID), NativeDialect())
        case .elevenlabs: try ElevenLabsDialect.open(query: query, sessionID: sessionID)
        case .openai: try OpenAIDialect.open(query: query, sessionID: sessionID)
        }
    }

    /// Refuses a connection right after its handshake: an error in this dialect, then `code`.
    ///
    /// A refusal that soon after the 101 can reach the client in the same read; swift-websocket's
    /// client (ours: `dalston listen`) then misses it now and again. A moment's pause keeps the
    /// two apart; browsers and Python's websockets never needed it.
    package func refuse(_ outbound: WebSocketOutboundWriter, _ error: RealtimeError, close code: UInt16, reason: String) async {
        try? await Task.sleep(for: .milliseconds(20))
        try? await outbound.write(.text(errorFrame(error)))
        try? await outbound.close(.unknown(code), reason: reason)
    }

    package func errorFrame(_ error: RealtimeError) -> String {
        switch self {
        case .native: NativeDialect.errorFrame(error)
        case .elevenlabs: ElevenLabsDialect.errorFrame(error)
        case .openai: OpenAIDialect.errorFrame(error)
        }
    }
}
