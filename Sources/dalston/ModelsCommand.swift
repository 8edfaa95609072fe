import ArgumentParser
import DalstonEngineSDK
import DalstonModels
import DalstonRuntime
import Foundation

/// `dalston models list|pull|remove`: the models this machine has, in `DALSTON_MODELS_DIR`
/// (default `~/.local/share/dalston/models`). `pull` and `remove` run the runners package
/// (`python -m dalston_runners models ...`), the one place that writes the directory; `list` reads
/// the manifests as the gateway and engines do.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List, download, add and remove speech recognition models.",
        discussion: """
            dalston models list
            dalston models pull Systran/faster-whisper-small     (from the Hugging Face hub; HF_ENDPOINT honoured)
            dalston models add ./whisper-small-ct2 --id my-whisper-small   (a converted model in a directory)
            dalston models remove Systran/faster-whisper-small
            Requests name a model by its id (model=faster-whisper-base); whisper-1, scribe_v1 and auto
            mean the default (DALSTON_DEFAULT_MODEL, else the packaged faster-whisper-tiny.en).
            """,
        subcommands: [List.self, Pull.self, Add.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the installed models and what each can do.")

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let registry = Deployment.modelRegistry(ProcessInfo.processInfo.environment)
            let models = registry.models
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(models), as: UTF8.self))
                return
            }
            let fallback = registry.defaultModel(language: nil)?.id
            let rows = [["MODEL", "RUNNER", "LANGUAGES", "TRANSLATES", "SIZE", "SOURCE"]] + models.map { model in
                [
                    model.id + (model.id == fallback ? " (default)" : ""), model.runner,
                    model.multilingual ? "\(model.languages.count) (detects)" : model.languages.joined(separator: ","),
                    model.translates ? "yes" : "no", model.sizeBytes.map { String(format: "%.0f MB", Double($0) / 1e6) } ?? "-",
                    model.source ?? "-",
                ]
            }
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
            }
            if let directory = registry.directory { print("\nmodels directory: \(directory.path)") }
        }
    }

    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a faster-whisper model from the Hugging Face hub and install it.")

        @Argument(help: "A hub repository with a CTranslate2 Whisper model, e.g. Systran/faster-whisper-small.")
        var model: String

        @Option(help: "A branch, tag or commit of the repository.")
        var revision: String?

        func run() throws {
            try ModelsCommand.runRunnersPackage(["models", "pull", model] + (revision.map { ["--revision", $0] } ?? []))
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Install a converted faster-whisper model from a directory.")

        @Argument(help: "A directory with a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json, vocabulary).")
        var directory: String

        @Option(help: "The name requests will use for it.")
        var id: String

        func run() throws {
            try ModelsCommand.runRunnersPackage(["models", "add", directory, "--id", id])
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an installed model.")

        @Argument(help: "The model's id (dalston models list).")
        var model: String

        func run() throws {
            try ModelsCommand.runRunnersPackage(["models", "remove", model])
            print("removed \(model)")
        }
    }

    /// Runs `python -m dalston_runners ARGUMENTS` with this terminal, and fails as it does.
    static func runRunnersPackage(_ arguments: [String]) throws {
        let environment = ProcessInfo.processInfo.environment
        guard let python = RunnerCommand.python(in: environment) else {
            throw ValidationError("no Python with Dalston's runners package: run scripts/setup.sh run (it makes .venv), or set DALSTON_PYTHON")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "dalston_runners"] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ExitCode(process.terminationStatus) }
    }
}
