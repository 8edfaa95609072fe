import HTTPTypes
import Hummingbird

/// Another dialect's claim on the shared `POST /v1/audio/transcriptions`: OpenAI's SDK posts
/// there too, and only the form's fields (its model name) and the request's headers (the SDK's
/// user agent) tell its requests from Dalston's.
/// The native route receives the upload (within the claimant's size limit) and hands it over.
struct TranscriptionClaim: Sendable {
    /// The shape of the claimant's errors, whatever goes wrong.
    let errorDialect: ErrorDialect
    /// The claimant's own limit on an upload's size, in bytes.
    let uploadLimit: Int
    let claims: @Sendable (_ fields: [String: [String]], _ headers: HTTPFields) -> Bool
    let transcribe: @Sendable (ReceivedUpload, Request, GatewayRequestContext) async throws -> Response
}
