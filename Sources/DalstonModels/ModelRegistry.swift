package import Foundation
import Synchronization

/// The models this machine has: built-in ones (PocketSphinx, where it is compiled in) and those
/// installed in the models directory, one directory each with its manifest. The directory is read
/// again whenever it changes (a `dalston models pull` while the server runs is seen at once).
package final class ModelRegistry: Sendable {
    package let directory: URL?
    private let builtIn: [ModelInfo]
    /// `DALSTON_DEFAULT_MODEL`: what `auto`, `whisper-1`, `scribe_v1`... resolve to.
    private let preferredDefault: String?
    private let cache = Mutex<(stamp: Date?, models: [ModelInfo])>((nil, []))

    package init(directory: URL?, builtIn: [ModelInfo] = [], defaultModel: String? = nil) {
        self.directory = directory
        self.builtIn = builtIn
        self.preferredDefault = defaultModel.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `DALSTON_MODELS_DIR`, else `$XDG_DATA_HOME/dalston/models`, else
    /// `$HOME/.local/share/dalston/models`: the same place the runners package installs into.
    /// nil when the environment names none of them (a process started with a bare environment
    /// has only its built-in models).
    package static func directory(in environment: [String: String]) -> URL? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let configured = value("DALSTON_MODELS_DIR") { return URL(fileURLWithPath: configured) }
        guard let dataHome = value("XDG_DATA_HOME") ?? value("HOME").map({ $0 + "/.local/share" }) else { return nil }
        return URL(fileURLWithPath: dataHome).appendingPathComponent("dalston/models")
    }

    /// Every model, built-in first, then installed ones by id. A directory whose manifest is
    /// unreadable or whose weights are gone is left out.
    package var models: [ModelInfo] {
        builtIn + installed()
    }

    package func model(_ id: String) -> ModelInfo? {
        models.first { $0.id == id }
    }

    /// The model that runs when a request names none (or an alias such as `whisper-1`): the
    /// configured default if it can serve the request, else the first Whisper model that can
    /// (tiny.en before others: the packaged default), else a built-in one.
    package func defaultModel(language: String?, translating: Bool = false) -> ModelInfo? {
        let all = models
        let fits = { (model: ModelInfo) in model.supports(language: language) && (!translating || model.translates) }
        if let preferred = preferredDefault, let model = all.first(where: { $0.id == preferred }), fits(model) { return model }
        let whisper = all.filter { $0.runner == ModelInfo.fasterWhisper && fits($0) }
        return whisper.first { $0.id == "faster-whisper-tiny.en" } ?? whisper.first ?? all.first(where: fits)
    }

    private func installed() -> [ModelInfo] {
        guard let directory else { return [] }
        let stamp = (try? FileManager.default.attributesOfItem(atPath: directory.path))?[.modificationDate] as? Date
        if let cached = cache.withLock({ $0.stamp != nil && $0.stamp == stamp ? $0.models : nil }) { return cached }
        let models = Self.scan(directory)
        cache.withLock { $0 = (stamp, models) }
        return models
    }

    static func scan(_ directory: URL) -> [ModelInfo] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let decoder = JSONDecoder()
        return entries.sorted().compactMap { entry -> ModelInfo? in
            guard !entry.hasSuffix(".partial") else { return nil }
            let folder = directory.appendingPathComponent(entry)
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(ModelInfo.manifestName).path),
                var model = try? decoder.decode(ModelInfo.self, from: data),
                FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.bin").path)
            else { return nil }
            model.path = folder.path
            return model
        }.sorted { $0.id < $1.id }
    }
}
