import DalstonModels
import Foundation
import Testing

/// The registry reads the manifests `dalston models pull` writes, skips what is not a complete
/// model, sees changes at once, and picks the default model a request without one gets.
@Suite("Model registry")
struct ModelRegistryTests {
    static let pocketSphinx = ModelInfo(
        id: "pocketsphinx-en-us", name: "PocketSphinx", runner: "built-in", engine: "transcribe", multilingual: false, languages: ["en"],
        translates: false, wordTimestamps: true)

    /// A models directory with `models` installed (manifest and a model.bin each).
    static func directory(_ models: [(id: String, multilingual: Bool)]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("models-\(UUID().uuidString)")
        for model in models { try install(model.id, multilingual: model.multilingual, in: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return root
    }

    static func install(_ id: String, multilingual: Bool, in root: URL, weights: Bool = true) throws {
        let folder = root.appendingPathComponent(id.replacingOccurrences(of: "/", with: "--"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let manifest = ModelInfo(
            id: id, name: id, runner: ModelInfo.fasterWhisper, engine: ModelInfo.fasterWhisper, multilingual: multilingual,
            languages: multilingual ? ["de", "en", "es"] : ["en"], translates: multilingual, wordTimestamps: true, sizeBytes: 42)
        try JSONEncoder().encode(manifest).write(to: folder.appendingPathComponent(ModelInfo.manifestName))
        if weights { try Data("weights".utf8).write(to: folder.appendingPathComponent("model.bin")) }
    }

    @Test func installedModelsAreReadFromTheirManifests() throws {
        let root = try Self.directory([("faster-whisper-tiny.en", false), ("Systran/faster-whisper-small", true)])
        defer { try? FileManager.default.removeItem(at: root) }
        // Neither a download in progress nor a model whose weights are gone counts.
        try Self.install("half-pulled", multilingual: true, in: root, weights: false)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("x.partial"), withIntermediateDirectories: true)
        let registry = ModelRegistry(directory: root, builtIn: [Self.pocketSphinx])
        #expect(registry.models.map(\.id) == ["pocketsphinx-en-us", "Systran/faster-whisper-small", "faster-whisper-tiny.en"])
        let small = try #require(registry.model("Systran/faster-whisper-small"))
        #expect(small.path == root.appendingPathComponent("Systran--faster-whisper-small").path && small.translates && small.sizeBytes == 42)
        #expect(registry.model("half-pulled") == nil)
    }

    @Test func aModelInstalledOrRemovedWhileRunningIsSeenAtOnce() throws {
        let root = try Self.directory([("faster-whisper-tiny.en", false)])
        defer { try? FileManager.default.removeItem(at: root) }
        let registry = ModelRegistry(directory: root)
        #expect(registry.models.count == 1)
        try Self.install("faster-whisper-base", multilingual: true, in: root)
        #expect(registry.model("faster-whisper-base") != nil)
        try FileManager.default.removeItem(at: root.appendingPathComponent("faster-whisper-tiny.en"))
        #expect(registry.models.map(\.id) == ["faster-whisper-base"])
    }

    @Test func theDefaultServesTheRequestsLanguageAndTask() throws {
        let root = try Self.directory([("faster-whisper-tiny.en", false), ("faster-whisper-base", true)])
        defer { try? FileManager.default.removeItem(at: root) }
        let registry = ModelRegistry(directory: root, builtIn: [Self.pocketSphinx])
        #expect(registry.defaultModel(language: nil)?.id == "faster-whisper-tiny.en", "the packaged Whisper model first")
        #expect(registry.defaultModel(language: "de")?.id == "faster-whisper-base", "a language tiny.en lacks: a model that has it")
        #expect(registry.defaultModel(language: nil, translating: true)?.id == "faster-whisper-base")
        #expect(registry.defaultModel(language: "ja") == nil, "no installed model knows Japanese")
        let configured = ModelRegistry(directory: root, builtIn: [Self.pocketSphinx], defaultModel: "pocketsphinx-en-us")
        #expect(configured.defaultModel(language: "en")?.id == "pocketsphinx-en-us")
        #expect(configured.defaultModel(language: "es")?.id == "faster-whisper-base", "the configured default cannot serve Spanish")
        let bare = ModelRegistry(directory: nil, builtIn: [Self.pocketSphinx])
        #expect(bare.defaultModel(language: nil)?.id == "pocketsphinx-en-us")
    }

    @Test func theDirectoryFollowsTheEnvironment() {
        #expect(ModelRegistry.directory(in: ["DALSTON_MODELS_DIR": "/srv/models", "HOME": "/home/u"])?.path == "/srv/models")
        #expect(ModelRegistry.directory(in: ["XDG_DATA_HOME": "/data", "HOME": "/home/u"])?.path == "/data/dalston/models")
        #expect(ModelRegistry.directory(in: ["HOME": "/home/u"])?.path == "/home/u/.local/share/dalston/models")
        #expect(ModelRegistry.directory(in: [:]) == nil, "a bare environment has only the built-in models")
    }
}
