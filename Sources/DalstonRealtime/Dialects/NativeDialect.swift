/// Dalston's own protocol: worker events pass through unchanged.
package struct NativeDialect: RealtimeDialect {
    package let name = "native"

    package init() {}

    /// The client's query (`language`, `model`, `encoding`, `sample_rate`, `enable_vad`,
    /// `interim_results`, `word_timestamps`, `store_audio`, `store_transcript` and the VAD names).
    package static func settings(query: [String: String], sessionID: String) throws(InvalidSessionParameter) -> SessionSettings {
        var worker = query.filter { SessionSettings.queryNames.contains($0.key) }
        worker["session_id"] = sessionID
        return try SessionSettings(query: worker, sessionID: sessionID)
    }

    package mutating func clientText(_ text: String) -> DialectOutput {
        do {
            return DialectOutput(toWorker: [.control(try ClientMessage.parse(text))])
        } catch {
            return DialectOutput(toClient: [errorFrame(error)])
        }
    }

    package mutating func workerEvent(_ event: RealtimeEvent) -> [String] { [event.json] }

    package static func errorFrame(_ error: RealtimeError) -> String { RealtimeEvent.error(error).json }
}

extension SessionSettings {
    /// The query names a client may set for the worker.
    static let queryNames: Set<String> = [
        "language", "model", "encoding", "sample_rate", "enable_vad", "interim_results", "word_timestamps", "store_audio", "store_transcript", "vad_threshold",
        "min_silence_duration_ms", "min_speech_duration_ms", "prefix_padding_ms", "max_utterance_duration",
    ]
}
