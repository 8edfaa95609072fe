package import DalstonRealtime

/// The models a realtime worker serves live, and how it makes a recogniser for each: built by
/// the deployment from what is installed (PocketSphinx where compiled in, each Whisper model),
/// so a session's `model` picks its recogniser.
package struct LiveModels: Sendable {
    /// What a recogniser is made for.
    package typealias Factory = @Sendable (_ model: String) throws -> any StreamingRecognizer

    /// Every model this worker can stream, advertised in its heartbeats.
    package let models: [String]
    /// The model of a session that names none.
    package let defaultModel: String
    private let factory: Factory
    /// Loads what sessions of `defaultModel` need before the worker takes any (a runner
    /// process and its model), so the first session does not wait for it.
    package let prepare: @Sendable () async throws -> Void
    /// Stops what `prepare` started.
    package let shutdown: @Sendable () async -> Void

    package init(
        models: [String], defaultModel: String, prepare: @escaping @Sendable () async throws -> Void = {},
        shutdown: @escaping @Sendable () async -> Void = {}, make: @escaping Factory
    ) {
        self.models = models
        self.defaultModel = defaultModel
        self.prepare = prepare
        self.shutdown = shutdown
        self.factory = make
    }

    /// One model served by `make` (tests, and workers built around a single recogniser).
    package static func single(_ model: String, make: @escaping @Sendable () throws -> any StreamingRecognizer) -> LiveModels {
        LiveModels(models: [model], defaultModel: model) { _ in try make() }
    }

    /// The model a session asked for (`""` or `auto`: the default), or why this worker cannot
    /// serve it.
    package func resolve(_ requested: String) throws(InvalidSessionParameter) -> String {
        let model = requested.isEmpty || requested == "auto" ? defaultModel : requested
        guard models.contains(model) else {
            throw InvalidSessionParameter("model", "\(model.prefix(80)) is not served by this worker (it streams \(models.joined(separator: ", ")))")
        }
        return model
    }

    func make(_ model: String) throws -> any StreamingRecognizer {
        try factory(model)
    }
}
