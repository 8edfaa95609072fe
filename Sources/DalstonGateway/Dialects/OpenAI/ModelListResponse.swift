import DalstonModels
import Hummingbird

/// `GET /v1/models`: OpenAI's list shape (`object: list`, `data: [{id, object: model, created,
/// owned_by}]`) with Dalston's fields on each entry: the model that really runs, what it can do,
/// and which API the name belongs to. Installed models come first under their own ids, then each
/// API's aliases of the default model.
struct ModelListResponse: ResponseEncodable {
    struct Entry: ResponseEncodable {
        let id: String
        var object = "model"
        var created = 1_764_547_200  // 2025-12-01: when these names were first served
        var ownedBy = "dalston"
        /// `dalston`, `openai` or `elevenlabs`: the API whose name this is.
        let api: String
        /// The model that runs for this name.
        let model: String
        let name: String
        let engine: String
        let runner: String
        let languages: [String]
        let multilingual: Bool
        let translation: Bool
        let wordTimestamps: Bool
        let sizeBytes: Int?
        let source: String?
        /// The original Dalston SDK's fields (`Model`): stage, engine, size in GB, output style.
        var stage = "transcribe"
        let engineID: String
        let sizeGB: Double?
        let punctuation: Bool
        let capitalization: Bool
        var nativeStreaming = false

        init(id: String, api: String, model: ModelInfo) {
            self.id = id
            self.api = api
            self.model = model.id
            self.name = model.name
            self.engine = model.engine
            self.runner = model.runner
            self.languages = model.languages
            self.multilingual = model.multilingual
            self.translation = model.translates
            self.wordTimestamps = model.wordTimestamps
            self.sizeBytes = model.sizeBytes
            self.source = model.source
            self.engineID = model.engine
            self.sizeGB = model.sizeBytes.map { (Double($0) / 1e9 * 1000).rounded() / 1000 }
            // Whisper writes sentences; PocketSphinx lower-case words.
            self.punctuation = model.runner == ModelInfo.fasterWhisper
            self.capitalization = model.runner == ModelInfo.fasterWhisper
        }

        enum CodingKeys: String, CodingKey {
            case id, object, created, api, model, name, engine, runner, languages, multilingual, translation, source, stage, punctuation, capitalization
            case ownedBy = "owned_by"
            case engineID = "engine_id"
            case sizeGB = "size_gb"
            case nativeStreaming = "native_streaming"
            case wordTimestamps = "word_timestamps"
            case sizeBytes = "size_bytes"
        }
    }

    var object = "list"
    let data: [Entry]

    init(_ catalogue: ModelCatalogue) {
        let installed = catalogue.registry.models.map { Entry(id: $0.id, api: ModelCatalogue.API.dalston.rawValue, model: $0) }
        let aliases = ModelCatalogue.API.allCases.flatMap { api -> [Entry] in
            // An alias of a language-neutral request: the default model.
            guard let target = catalogue.registry.defaultModel(language: nil) else { return [] }
            return (ModelCatalogue.aliases[api] ?? []).map { Entry(id: $0, api: api.rawValue, model: target) }
        }
        data = installed + aliases
    }
}
