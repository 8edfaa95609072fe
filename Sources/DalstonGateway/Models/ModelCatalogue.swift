/// The models this deployment can run, and the names other APIs use for them.
///
/// Dalston has one recogniser today (PocketSphinx, US English). OpenAI's and ElevenLabs' model
/// names are accepted as aliases so their SDKs work unchanged; every name resolves to the model
/// that will really run, and the job records that name, never the alias.
enum ModelCatalogue {
    struct Model: Sendable {
        /// Dalston's name, stored on the job.
        let id: String
        let name: String
        let engine: String
        /// Language codes (ISO 639-1) it transcribes.
        let languages: [String]
        let translates: Bool
    }

    static let pocketSphinx = Model(id: "pocketsphinx-en-us", name: "PocketSphinx US English", engine: "pocketsphinx", languages: ["en"], translates: false)

    /// Dalston's own names; `auto` lets the server choose.
    static let native: [String: Model] = ["pocketsphinx-en-us": pocketSphinx, "auto": pocketSphinx]
    /// OpenAI's transcription models, answered synchronously in OpenAI's shapes.
    static let openAI: [String: Model] = [
        "whisper-1": pocketSphinx, "gpt-4o-transcribe": pocketSphinx, "gpt-4o-mini-transcribe": pocketSphinx,
        "gpt-4o-transcribe-latest": pocketSphinx,
    ]
    /// OpenAI models that answer only `json` and `text` (as OpenAI's own do).
    static let openAIJSONOrTextOnly: Set<String> = ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-latest"]
    /// ElevenLabs' speech-to-text models.
    static let elevenLabs: [String: Model] = ["scribe_v1": pocketSphinx, "scribe_v1_experimental": pocketSphinx, "scribe_v2": pocketSphinx]

    /// A language code in the forms clients send (`en`, `en-US`, `eng`, `English`), as ISO 639-1;
    /// nil for auto-detection (empty or `auto`).
    static func normalizedLanguage(_ text: String) -> String? {
        let code = text.trimmed.lowercased()
        guard !code.isEmpty, code != "auto" else { return nil }
        let primary = String(code.split(whereSeparator: { $0 == "-" || $0 == "_" }).first ?? "")
        return ["eng": "en", "english": "en"][primary] ?? primary
    }

    /// Whether `model` transcribes `language` (nil: detect, which for an English-only model is English).
    static func supports(_ model: Model, language: String?) -> Bool {
        language.map(model.languages.contains) ?? true
    }
}
