import DalstonRecords
import Hummingbird

/// ElevenLabs' `POST /v1/single-use-token/{token_type}` (`realtime_scribe`): a token a browser
/// opens one realtime WebSocket with (`?token=`), once, within its lifetime (5 minutes unless the
/// body's `ttl` says otherwise).
struct ElevenLabsTokenAPI: Sendable {
    let mint: TokenMint
    let guards: RouteGuards

    /// The token types ElevenLabs' SDK sends; all of them open realtime speech-to-text here.
    static let tokenTypes: Set<String> = ["realtime_scribe", "speech_to_text", "realtime", "tts_websocket"]

    /// Mounted at `/v1/single-use-token`.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.elevenLabs, access: .anyKey)
        routes.post("{token_type}") { request, context in
            let tokenType = try context.parameters.require("token_type")
            guard Self.tokenTypes.contains(tokenType) else {
                throw APIError.badRequest(
                    "token_type \(tokenType.prefix(32)) is not one of \(Self.tokenTypes.sorted().joined(separator: ", "))", param: "token_type")
            }
            let body = try await JSONRequestBody.read(request, allowed: ["ttl"], example: #"{"ttl": 300}"#, emptyIsObject: true)
            let lifetime = try TokenMint.lifetime(body["ttl"], in: TokenMint.singleUseLifetimes, default: 300)
            let minted = try await mint.mint(context, scopes: [.realtime], kind: .singleUse, lifetime: lifetime)
            return SessionTokenResponse(minted, tokenType: tokenType)
        }
        return routes
    }
}
