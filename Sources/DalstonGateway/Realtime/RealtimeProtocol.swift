import DalstonRealtime

/// The WebSocket protocols the gateway speaks to clients, each at its own path.
enum RealtimeProtocol: String, CaseIterable, Sendable {
    case native
    case elevenlabs
    case openai

    var path: String {
        switch self {
        case .native: "/v1/audio/transcriptions/stream"
        case .elevenlabs: "/v1/speech-to-text/realtime"
        case .openai: "/v1/realtime"
        }
    }

    /// The worker's settings and the connection's dialect, from the client's query.
    func open(query: [String: String], sessionID: String) throws(InvalidSessionParameter) -> (SessionSettings, any RealtimeDialect) {
        switch self {
        case .native: (try NativeDialect.settings(query: query, sessionID: sessionID), NativeDialect())
        case .elevenlabs: try ElevenLabsDialect.open(query: query, sessionID: sessionID)
        case .openai: try OpenAIDialect.open(query: query, sessionID: sessionID)
        }
    }

    func errorFrame(_ error: RealtimeError) -> String {
        switch self {
        case .native: NativeDialect.errorFrame(error)
        case .elevenlabs: ElevenLabsDialect.errorFrame(error)
        case .openai: OpenAIDialect.errorFrame(error)
        }
    }
}
