import ArgumentParser

/// The `dalston` executable: one binary, one subcommand per service or tool.
@main
struct DalstonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dalston",
        abstract: "Dalston: distributed audio transcription with unified observability.",
        discussion: """
            Without REDIS_URL everything runs in one process on the embedded broker.
            Logging is configured from the environment in every subcommand:
              LOG_FORMAT=json|console   LOG_LEVEL=info,dalston.redis=debug   NO_COLOR / FORCE_COLOR
            """,
        subcommands: [
            UpCommand.self, TranscribeCommand.self, GatewayCommand.self, OrchestratorCommand.self, EngineCommand.self, LogsCommand.self,
            LogLevelCommand.self, DemoCommand.self, RealtimeWorkerCommand.self, ListenCommand.self, KeysCommand.self, ModelsCommand.self,
        ]
    )
}
