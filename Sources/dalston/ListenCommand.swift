import ArgumentParser
import DalstonAudio
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization

/// `dalston listen FILE`: streams a file to a gateway's realtime endpoint at real-time pace, as a
/// microphone would, and prints partials in place and finals as lines.
struct ListenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Stream an audio file to the realtime API and print the live transcript.",
        discussion: "Partials are shown in place on a terminal; finals are printed as lines with their times.")

    enum Dialect: String, ExpressibleByArgument, CaseIterable {
        case native, elevenlabs, openai
    }

    @Argument(help: "An audio file (WAV, or anything FFmpeg reads).")
    var file: String

    @Option(help: "The gateway's WebSocket base URL.")
    var url = "ws://127.0.0.1:8000"

    @Option(name: .customLong("protocol"), help: "Which realtime protocol to speak: native, elevenlabs or openai.")
    var dialect: Dialect = .native

    @Option(help: "Stream this many times faster than real time.")
    var speed = 1.0

    @Option(help: "Language of the speech (native and ElevenLabs).")
    var language = "en"

    @Option(help: "API key, when the gateway requires one (or set DALSTON_API_KEY).")
    var apiKey: String?

    @Flag(help: "Print every server message as JSON instead of the transcript.")
    var json = false

    func validate() throws {
        guard speed > 0, speed <= 1000 else { throw ValidationError("--speed must be above 0 and at most 1000") }
    }

    func run() async throws {
        let rate = dialect == .openai ? 24_000 : 16_000
        let samples = try await Self.load(URL(fileURLWithPath: file), sampleRate: rate)
        let pcm = WAVEncoder.pcm16LittleEndian(samples)
        var configuration = WebSocketClientConfiguration()
        if let key = apiKey ?? ProcessInfo.processInfo.environment["DALSTON_API_KEY"], !key.isEmpty {
            configuration.additionalHeaders[.authorization] = "Bearer \(key)"
        }
        let printer = TranscriptPrinter(json: json, dialect: dialect)
        let frameBytes = rate / 10 * 2  // 100 ms
        let pause = Duration.seconds(0.1 / speed)
        let dialect = dialect
        let endpoint = url + endpointPath
        let close = try await WebSocketClient.connect(url: endpoint, configuration: configuration, logger: Logger(label: "dalston.listen")) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var offset = 0
                    let clock = ContinuousClock()
                    var next = clock.now
                    while offset < pcm.count {
                        let chunk = Array(pcm[offset..<min(pcm.count, offset + frameBytes)])
                        offset += chunk.count
                        switch dialect {
                        case .native: try await outbound.write(.binary(ByteBuffer(bytes: chunk)))
                        case .elevenlabs:
                            try await outbound.write(.text(Self.jsonText(["message_type": "input_audio_chunk", "audio_base_64": Data(chunk).base64EncodedString(), "commit": false])))
                        case .openai:
                            try await outbound.write(.text(Self.jsonText(["type": "input_audio_buffer.append", "audio": Data(chunk).base64EncodedString()])))
                        }
                        next = next.advanced(by: pause)
                        try await clock.sleep(until: next)
                    }
                    switch dialect {
                    case .native: try await outbound.write(.text(#"{"type":"end"}"#))
                    case .elevenlabs:
                        try await outbound.write(.text(Self.jsonText(["message_type": "input_audio_chunk", "audio_base_64": "", "commit": true])))
                        try await outbound.write(.text(#"{"message_type":"close_stream"}"#))
                    case .openai:
                        printer.awaitLastCommit()
                        try await outbound.write(.text(#"{"type":"input_audio_buffer.commit"}"#))
                        // OpenAI's protocol has no end message: close once the last item is transcribed.
                        let deadline = ContinuousClock.now + .seconds(15)
                        while !printer.lastCommitTranscribed, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    if case .text(let text) = message { printer.handle(text) }
                }
                group.cancelAll()
            }
        }
        printer.finish()
        if let close, close.closeCode != .normalClosure {
            throw ValidationError("the session ended with close code \(close.closeCode)\(close.reason.map { ": \($0)" } ?? "")")
        }
        if printer.failed { throw ExitCode(1) }
    }

    private var endpointPath: String {
        switch dialect {
        case .native: "/v1/audio/transcriptions/stream?language=\(language)&sample_rate=16000&encoding=pcm_s16le"
        case .elevenlabs: "/v1/speech-to-text/realtime?model_id=scribe_v1&audio_format=pcm_16000&commit_strategy=vad&language_code=\(language)"
        case .openai: "/v1/realtime?intent=transcription"
        }
    }

    static func load(_ file: URL, sampleRate: Int) async throws -> [Float] {
        let bytes = try Array(Data(contentsOf: file))
        if let audio = try? WAVDecoder.decode(bytes) {
            return Resampler().resample(audio.downmixed(), from: audio.sampleRate, to: sampleRate)
        }
        return try await FFmpeg.decode(file, sampleRate: sampleRate, maximumSeconds: 4 * 3600, timeout: .seconds(300)).downmixed()
    }

    static func jsonText(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// Prints what the server says: partials rewritten in place on a terminal, finals as lines.
final class TranscriptPrinter: Sendable {
    private struct State {
        var partialShown = false
        var failed = false
        var awaitingCommit = false
        var lastCommitItem: String?
        var lastCommitTranscribed = false
    }

    private let state = Mutex(State())
    private let json: Bool
    private let dialect: ListenCommand.Dialect
    private let terminal = isatty(STDOUT_FILENO) == 1

    init(json: Bool, dialect: ListenCommand.Dialect) {
        self.json = json
        self.dialect = dialect
    }

    var failed: Bool { state.withLock { $0.failed } }
    var lastCommitTranscribed: Bool { state.withLock { $0.lastCommitTranscribed } }
    func awaitLastCommit() { state.withLock { $0.awaitingCommit = true } }

    func handle(_ text: String) {
        if json { return write(text + "\n") }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return }
        let type = (object["type"] ?? object["message_type"]) as? String ?? ""
        switch (dialect, type) {
        case (.native, "transcript.partial"), (.elevenlabs, "partial_transcript"):
            partial(object["text"] as? String ?? "")
        case (.openai, "conversation.item.input_audio_transcription.delta"):
            partial(object["delta"] as? String ?? "", append: true)
        case (.native, "transcript.final"):
            final(object["text"] as? String ?? "", start: object["start"] as? Double, end: object["end"] as? Double)
        case (.elevenlabs, "committed_transcript"), (.elevenlabs, "committed_transcript_with_timestamps"):
            final(object["text"] as? String ?? "", start: nil, end: nil)
        case (.openai, "conversation.item.input_audio_transcription.completed"):
            final(object["transcript"] as? String ?? "", start: nil, end: nil)
            state.withLock { if $0.lastCommitItem != nil, $0.lastCommitItem == object["item_id"] as? String { $0.lastCommitTranscribed = true } }
        case (.openai, "input_audio_buffer.committed"):
            state.withLock { if $0.awaitingCommit { $0.lastCommitItem = object["item_id"] as? String } }
        case (_, _) where type == "error" || (dialect == .elevenlabs && object["error"] != nil):
            let detail = (object["error"] as? [String: Any])?["message"] ?? object["error"] ?? object["message"] ?? text
            state.withLock { $0.failed = true }
            clearPartial()
            FileHandle.standardError.write(Data("dalston listen: \(detail)\n".utf8))
        default:
            break
        }
    }

    func finish() { clearPartial() }

    private func partial(_ text: String, append: Bool = false) {
        guard terminal else { return }
        write((append ? "" : "\r\u{1B}[K") + text)
        state.withLock { $0.partialShown = true }
    }

    private func final(_ text: String, start: Double?, end: Double?) {
        clearPartial()
        guard !text.isEmpty else { return }
        if let start, let end {
            write(String(format: "[%7.2f – %7.2f] ", start, end) + text + "\n")
        } else {
            write(text + "\n")
        }
    }

    private func clearPartial() {
        let shown = state.withLock { state in
            defer { state.partialShown = false }
            return state.partialShown
        }
        if shown { write("\r\u{1B}[K") }
    }

    /// A closed stdout (`| head`) ends the output, not the process with a trap.
    private func write(_ text: String) {
        do {
            try FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
        } catch {
            exit(0)
        }
    }
}
