import DalstonModels
import DalstonRealtime
import DalstonSessionRouter

extension ModelCatalogue {
    /// The installed model a live session streams with, chosen as a batch request's would be:
    /// each dialect's own names (`scribe_v2_realtime`, `gpt-4o-transcribe`, ...), none, or
    /// `auto` mean the deployment's default for the session's language; an installed model's id
    /// picks it (`pocketsphinx-en-us` stays selectable). A model that is not installed or does
    /// not transcribe the session's language is refused before any worker is reserved, with the
    /// dialect's field named.
    func liveModel(for settings: SessionSettings, protocol kind: RealtimeProtocol) -> Result<String, RealtimeError> {
        let api: API = switch kind {
        case .native: .dalston
        case .openai: .openai
        case .elevenlabs: .elevenlabs
        }
        let param = kind == .elevenlabs ? "model_id" : "model"
        let languageParam = kind == .elevenlabs ? "language_code" : "language"
        let name = settings.model.isEmpty ? (Self.aliases[api]?.first ?? "auto") : settings.model
        do {
            let model = try resolve(name, api: api, language: Self.normalizedLanguage(settings.language), param: param, languageParam: languageParam)
            guard model.runner == ModelInfo.fasterWhisper || model.id == Self.pocketSphinx.id else {
                return .failure(RealtimeError(
                    code: "model_not_available", message: "\(model.id) cannot stream; use a Whisper model or \(Self.pocketSphinx.id)", recoverable: false))
            }
            return .success(model.id)
        } catch {
            let code = error.param == languageParam ? "language_not_supported" : "model_not_available"
            return .failure(RealtimeError(code: code, message: error.message, recoverable: false))
        }
    }
}
