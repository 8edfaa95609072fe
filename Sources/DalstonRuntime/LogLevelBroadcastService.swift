import DalstonBroker
import DalstonObservability
import Logging
import ServiceLifecycle

/// Applies log-level changes broadcast on the broker's event bus (`dalston loglevel set ...`),
/// so one command changes the levels of every matching process without a restart.
struct LogLevelBroadcastService: Service {
    static let eventType = "log_level_change"

    let events: any EventBus
    let administration: LogLevelAdministration
    /// Names this process answers to in `--service`: its service name and the roles it runs.
    let names: Set<String>
    let logger: Logger

    func run() async throws {
        let stream = events.events()
        await withTaskCancellationOrGracefulShutdownHandler {
            for await event in stream where event.type == Self.eventType {
                handle(event)
            }
        } onCancelOrGracefulShutdown: {
            stream.cancel()
        }
        administration.cancelReverts()
    }

    private func handle(_ event: EventEnvelope) {
        if let service = event.data["service"]?.stringValue, !service.isEmpty, !names.contains(service) { return }
        let source = "broadcast"
        if event.data["action"]?.stringValue == "reset" {
            administration.reset(source: source)
            return
        }
        let request = LogLevelAdministration.ChangeRequest(
            level: event.data["level"]?.stringValue ?? "", logger: event.data["logger"]?.stringValue,
            durationSeconds: event.data["duration_seconds"]?.numberValue)
        do {
            try administration.apply(request, source: source)
        } catch {
            logger.warning("log_level_change_refused", metadata: ["reason": "\(error.description)"])
        }
    }
}
