package import DalstonModels
import DalstonPipeline

/// The models requests may name, as each API names them. Dalston's own names are the installed
/// models' ids (`faster-whisper-tiny.en`, `Systran/faster-whisper-small`, `pocketsphinx-en-us`);
/// OpenAI's (`whisper-1`, `gpt-4o-*`) and ElevenLabs' (`scribe_*`) names, and Dalston's `auto`,
/// are aliases of the deployment's default model (one that serves the request's language, or
/// translates when asked). A job records the model that really runs, never the alias.
package struct ModelCatalogue: Sendable {
    package let registry: ModelRegistry

    /// The APIs whose names the catalogue knows.
    package enum API: String, Sendable, CaseIterable {
        case dalston, openai, elevenlabs
    }

    /// Each API's aliases of the default model.
    static let aliases: [API: [String]] = [
        .dalston: ["auto"],
        .openai: ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-latest", diarizingOpenAIModel],
        .elevenlabs: ["scribe_v1", "scribe_v1_experimental", "scribe_v2"],
    ]
    /// OpenAI's model that says who spoke when: its jobs are diarized, and it alone answers
    /// `diarized_json` (as OpenAI's does).
    static let diarizingOpenAIModel = "gpt-4o-transcribe-diarize"
    /// OpenAI models that answer only `json` and `text` (as OpenAI's own do).
    static let openAIJSONOrTextOnly: Set<String> = ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-latest"]

    /// PocketSphinx, where the transcribe engine is compiled in.
    package static let pocketSphinx = ModelInfo(
        id: "pocketsphinx-en-us", name: "PocketSphinx US English", runner: "built-in", engine: EngineKind.transcribe, multilingual: false,
        languages: ["en"], translates: false, wordTimestamps: true, source: "apt:pocketsphinx-en-us")

    package init(registry: ModelRegistry) {
        self.registry = registry
    }

    /// Only PocketSphinx: what a gateway built without a models directory offers.
    package static let builtInOnly = ModelCatalogue(registry: ModelRegistry(directory: nil, builtIn: [pocketSphinx]))

    /// Whether `name` is one of `api`'s aliases.
    package func isAlias(_ name: String, of api: API) -> Bool {
        Self.aliases[api]?.contains(name) ?? false
    }

    /// The model a request names (or the default for an alias or no name), checked against the
    /// request's language and task. Errors say what to send or install instead.
    package func resolve(
        _ name: String, api: API, language: String?, translating: Bool = false, param: String, languageParam: String = "language"
    ) throws(APIError) -> ModelInfo {
        if isAlias(name, of: api) {
            if let model = registry.defaultModel(language: language, translating: translating) { return model }
            if translating {
                throw APIError(
                    .badRequest, code: "translation_not_available",
                    message: "no installed model translates (the installed ones are English-only): install a multilingual Whisper model, e.g. `dalston models pull Systran/faster-whisper-base`",
                    param: param, dialect: nil)
            }
            throw APIError.badRequest(
                "\(languageParam) \(language ?? "") is not available: no installed model transcribes it; install a multilingual Whisper model, e.g. `dalston models pull Systran/faster-whisper-base`",
                param: languageParam)
        }
        guard let model = registry.model(name) else {
            if let repository = Self.hubRepository(for: name) {
                throw APIError(
                    .badRequest, code: "model_not_installed",
                    message: "model \(name.prefix(120)) is not installed; install it with `dalston models pull \(repository.prefix(120))`", param: param,
                    dialect: nil)
            }
            let names = (Self.aliases[api] ?? []) + registry.models.map(\.id)
            throw APIError.badRequest("unknown \(param) \"\(name.prefix(64))\"; use one of \(names.joined(separator: ", ")) (GET /v1/models)", param: param)
        }
        if translating && !model.translates {
            throw APIError(
                .badRequest, code: "translation_not_available", message: "\(model.id) does not translate (it is English-only); use a multilingual model",
                param: param, dialect: nil)
        }
        guard model.supports(language: language) else {
            throw APIError.badRequest(
                "\(languageParam) \(language ?? "") is not available: \(model.id) transcribes \(model.languages.prefix(8).joined(separator: ", "))", param: languageParam)
        }
        return model
    }

    /// The hub repository `dalston models pull` would install `name` from: the name itself when
    /// it is one (`Systran/faster-whisper-small`), Systran's for a bare faster-whisper name.
    static func hubRepository(for name: String) -> String? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) { return name }
        return name.hasPrefix("faster-whisper-") && !name.contains(" ") ? "Systran/\(name)" : nil
    }

    /// A language code in the forms clients send (`en`, `en-US`, `eng`, `English`), as ISO 639-1;
    /// nil for auto-detection (empty or `auto`).
    package static func normalizedLanguage(_ text: String) -> String? {
        let code = text.trimmed.lowercased()
        guard !code.isEmpty, code != "auto" else { return nil }
        let primary = String(code.split(whereSeparator: { $0 == "-" || $0 == "_" }).first ?? "")
        return ["eng": "en", "english": "en"][primary] ?? primary
    }
}
