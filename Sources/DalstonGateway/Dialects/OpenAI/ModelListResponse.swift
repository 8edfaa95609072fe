import Hummingbird

/// `GET /v1/models`: OpenAI's list shape (`object: list`, `data: [{id, object: model, created,
/// owned_by}]`) with Dalston's fields on each entry: the model that really runs, its engine and
/// languages, and which API the name belongs to.
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
        let languages: [String]
        let translation: Bool

        init(id: String, api: String, model: ModelCatalogue.Model) {
            self.id = id
            self.api = api
            self.model = model.id
            self.name = model.name
            self.engine = model.engine
            self.languages = model.languages
            self.translation = model.translates
        }

        enum CodingKeys: String, CodingKey {
            case id, object, created, api, model, name, engine, languages, translation
            case ownedBy = "owned_by"
        }
    }

    var object = "list"
    let data: [Entry]

    static let all = ModelListResponse(data: [
        ("dalston", ModelCatalogue.native), ("openai", ModelCatalogue.openAI), ("elevenlabs", ModelCatalogue.elevenLabs),
    ].flatMap { api, models in
        models.sorted { $0.key < $1.key }.map { Entry(id: $0.key, api: api, model: $0.value) }
    })
}
