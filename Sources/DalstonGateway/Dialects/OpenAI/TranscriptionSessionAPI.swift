import DalstonBroker
import DalstonRecords
import Foundation
import Hummingbird

/// OpenAI's `POST /v1/realtime/transcription_sessions`: an ephemeral `client_secret` that a
/// browser opens one `/v1/realtime?intent=transcription` WebSocket with (as its bearer token, or
/// `?token=`), once, before it expires (`client_secret.expires_after.seconds`, 10 minutes by
/// default). The session's settings are echoed; the client sends them again with
/// `transcription_session.update` once connected, as OpenAI's clients do.
struct TranscriptionSessionAPI: Sendable {
    let mint: TokenMint
    let guards: RouteGuards

    /// What OpenAI's request may hold; other fields are refused by name.
    static let fields: Set<String> = [
        "session", "input_audio_format", "input_audio_transcription", "turn_detection", "input_audio_noise_reduction", "include", "modalities",
        "client_secret",
    ]
    static let lifetimes = 10.0...7200.0

    /// Mounted at `/v1/realtime`.
    func routes() -> RouteCollection<GatewayRequestContext> {
        let routes = guards.collection(.openAI, access: .anyKey)
        routes.post("transcription_sessions") { request, context in try await self.create(request, context) }
        return routes
    }

    private func create(_ request: Request, _ context: GatewayRequestContext) async throws -> TranscriptionSessionResponse {
        let body = try await JSONRequestBody.read(request, allowed: Self.fields, example: #"{"input_audio_transcription": {"model": "whisper-1"}}"#, emptyIsObject: true)
        var session = body.fields
        if let nested = body["session"] {
            guard case .object(let fields) = nested else { throw APIError.badRequest("session must be a JSON object", param: "session") }
            session = fields
        }
        let format = session["input_audio_format"]?.stringValue ?? "pcm16"
        guard format == "pcm16" else {
            throw APIError.badRequest("input_audio_format \(format.prefix(32)) is not supported: send pcm16 (24 kHz mono)", param: "input_audio_format")
        }
        var transcription: [String: JSONValue] = ["model": .string("gpt-4o-transcribe")]
        if let value = session["input_audio_transcription"], value != .null {
            guard case .object(let fields) = value else {
                throw APIError.badRequest("input_audio_transcription must be an object", param: "input_audio_transcription")
            }
            for name in ["model", "language", "prompt"] {
                guard let field = fields[name], field != .null else { continue }
                guard let text = field.stringValue, !text.isEmpty, text.count <= 4096 else {
                    throw APIError.badRequest("input_audio_transcription.\(name) must be a non-empty string", param: "input_audio_transcription.\(name)")
                }
                transcription[name] = .string(text)
            }
        }
        let lifetime = try TokenMint.lifetime(Self.requestedLifetime(body["client_secret"]), in: Self.lifetimes, default: 600)
        let minted = try await mint.mint(context, scopes: [.realtime], kind: .singleUse, lifetime: lifetime)
        return TranscriptionSessionResponse(
            minted: minted, inputAudioFormat: format, transcription: transcription, turnDetection: session["turn_detection"] ?? .null,
            noiseReduction: session["input_audio_noise_reduction"] ?? .null, include: session["include"])
    }

    /// `client_secret.expires_after.seconds`, OpenAI's way of asking for a lifetime.
    static func requestedLifetime(_ value: JSONValue?) throws -> JSONValue? {
        guard let value, value != .null else { return nil }
        guard case .object(let secret) = value else { throw APIError.badRequest("client_secret must be an object", param: "client_secret") }
        guard let after = secret["expires_after"], after != .null else { return nil }
        guard case .object(let fields) = after else { throw APIError.badRequest("client_secret.expires_after must be an object", param: "client_secret") }
        return fields["seconds"]
    }
}

/// The body of `POST /v1/realtime/transcription_sessions`, in OpenAI's shape.
struct TranscriptionSessionResponse: ResponseEncodable {
    struct ClientSecret: Encodable {
        let value: String
        /// Unix seconds.
        let expiresAt: Int

        enum CodingKeys: String, CodingKey {
            case value
            case expiresAt = "expires_at"
        }
    }

    let id: String
    let object = "realtime.transcription_session"
    let clientSecret: ClientSecret
    let inputAudioFormat: String
    let inputAudioTranscription: [String: JSONValue]
    let turnDetection: JSONValue
    let inputAudioNoiseReduction: JSONValue
    let include: JSONValue?
    let modalities = ["text"]
    let createdAt: Int

    init(
        minted: MintedSessionToken, inputAudioFormat: String, transcription: [String: JSONValue], turnDetection: JSONValue, noiseReduction: JSONValue,
        include: JSONValue?
    ) {
        id = minted.token.id
        clientSecret = ClientSecret(value: minted.secret, expiresAt: Int(minted.token.expiresAt.timeIntervalSince1970))
        self.inputAudioFormat = inputAudioFormat
        inputAudioTranscription = transcription
        self.turnDetection = turnDetection
        inputAudioNoiseReduction = noiseReduction
        self.include = include
        createdAt = Int(minted.token.createdAt.timeIntervalSince1970)
    }

    enum CodingKeys: String, CodingKey {
        case id, object, include, modalities
        case clientSecret = "client_secret"
        case inputAudioFormat = "input_audio_format"
        case inputAudioTranscription = "input_audio_transcription"
        case turnDetection = "turn_detection"
        case inputAudioNoiseReduction = "input_audio_noise_reduction"
        case createdAt = "created_at"
    }
}
