import Foundation

/// How to start a model runner: the program, its arguments and environment, and how long its
/// model may take to load before the start counts as failed.
package struct RunnerCommand: Sendable {
    package var executable: String
    package var arguments: [String]
    package var environment: [String: String]
    package var startTimeout: Duration

    package init(executable: String, arguments: [String], environment: [String: String], startTimeout: Duration = .seconds(300)) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.startTimeout = startTimeout
    }

    /// What a runner inherits of the engine's environment: what locates programs, libraries,
    /// models and caches, and tunes the numeric libraries; not the engine's own settings and
    /// secrets (API keys, database and broker URLs).
    package static func environment(from environment: [String: String]) -> [String: String] {
        let exact: Set<String> = ["PATH", "HOME", "LANG", "TMPDIR", "TZ", "LD_LIBRARY_PATH", "VIRTUAL_ENV", "DALSTON_MODELS_DIR"]
        let prefixes = ["LC_", "XDG_", "HF_", "HUGGINGFACE_", "PYTHON", "OMP_", "MKL_", "CT2_", "CUDA", "NVIDIA_", "SSL_CERT_", "REQUESTS_CA_"]
        return environment.filter { key, _ in exact.contains(key) || prefixes.contains { key.hasPrefix($0) } }
    }

    /// The Python that has Dalston's runners package (`scripts/setup.sh run` installs it into
    /// `.venv`): `DALSTON_PYTHON`, else `.venv/bin/python3` in the working directory or in a
    /// folder above the running program (`.build/debug/dalston` inside a checkout). nil: none.
    package static func python(in environment: [String: String]) -> String? {
        if let configured = environment["DALSTON_PYTHON"], !configured.isEmpty { return configured }
        var candidates = [FileManager.default.currentDirectoryPath]
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(folder.path)
            folder = folder.deletingLastPathComponent()
        }
        return candidates.lazy.map { "\($0)/.venv/bin/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
