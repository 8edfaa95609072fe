import Foundation

/// What one installed model is and can do: the manifest `dalston-model.json` in its directory
/// (written by `dalston models pull` / the runners package), or a built-in entry.
package struct ModelInfo: Sendable, Codable, Equatable {
    /// Dalston's name of the model, stored on the job (`faster-whisper-tiny.en`,
    /// `Systran/faster-whisper-small`, `pocketsphinx-en-us`).
    package var id: String
    package var name: String
    /// What runs it: `faster-whisper` (a Python runner) or `built-in` (inside the engine).
    package var runner: String
    /// The engine (queue) whose workers run it.
    package var engine: String
    package var multilingual: Bool
    /// Language codes (ISO 639-1) it transcribes.
    package var languages: [String]
    /// Whether it translates into English (Whisper's `translate` task).
    package var translates: Bool
    /// Word timings come from the model itself.
    package var wordTimestamps: Bool
    package var sizeBytes: Int?
    /// Where it came from (`pypi:…`, `hf:<endpoint>/<repo>@<revision>`, `apt:…`).
    package var source: String?
    package var installedAt: String?
    /// Its directory (nil for a built-in model).
    package var path: String?

    package init(
        id: String, name: String, runner: String, engine: String, multilingual: Bool, languages: [String], translates: Bool,
        wordTimestamps: Bool, sizeBytes: Int? = nil, source: String? = nil, installedAt: String? = nil, path: String? = nil
    ) {
        self.id = id
        self.name = name
        self.runner = runner
        self.engine = engine
        self.multilingual = multilingual
        self.languages = languages
        self.translates = translates
        self.wordTimestamps = wordTimestamps
        self.sizeBytes = sizeBytes
        self.source = source
        self.installedAt = installedAt
        self.path = path
    }

    /// Whether it transcribes `language` (nil: detect, which every model can).
    package func supports(language: String?) -> Bool {
        language.map(languages.contains) ?? true
    }

    enum CodingKeys: String, CodingKey {
        case id, name, runner, engine, multilingual, languages, translates, source, path
        case wordTimestamps = "word_timestamps"
        case sizeBytes = "size_bytes"
        case installedAt = "installed_at"
    }
}

extension ModelInfo {
    /// The manifest's file name inside a model's directory.
    package static let manifestName = "dalston-model.json"
    /// The runner of Whisper models (CTranslate2) and the engine that hosts it.
    package static let fasterWhisper = "faster-whisper"
}
