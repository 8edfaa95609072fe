package import DalstonEngineSDK
import DalstonAudio
import DalstonCore
package import DalstonMetrics
package import DalstonRealtime
import Foundation
package import Logging

/// The Whisper runner a realtime worker's sessions share: one runner process per model, and its
/// decodings one at a time, finals first (a final is what a client waits for at the end of
/// speech), partials in the order they were asked for, so no session's partials starve
/// another's. A runner that dies is replaced on the next decoding (`RunnerPool`), so a session
/// loses at most the decoding in hand (its client gets a recoverable error) and goes on.
package actor WhisperLiveRunner {
    private let pool: RunnerPool
    private let metrics: Instruments
    private let logger: Logger
    private let beamSize: Int
    private var busy = false
    private var waiting: [(final: Bool, turn: CheckedContinuation<Void, Never>)] = []

    package init(settings: WhisperSettings, pool: RunnerPool, metrics: Instruments, logger: Logger) {
        self.pool = pool
        self.metrics = metrics
        self.logger = logger
        self.beamSize = settings.beamSize
    }

    /// Starts `model`'s runner now (the worker does before it takes sessions).
    package func load(_ model: String) async throws {
        _ = try await pool.runner(for: model, metrics: metrics)
    }

    package func shutdown() async {
        await pool.shutdown()
    }

    package func decode(_ request: LiveDecodeRequest, model: String, correlation: [String: String]) async throws -> LiveDecoding {
        let asked = ContinuousClock.now
        await takeTurn(final: request.pass == .final)
        defer { giveTurn() }
        let started = ContinuousClock.now
        let reply = try await pool.call(
            WhisperRequest(
                id: correlation["session_id"] ?? "live", pcm16: Data(WAVEncoder.pcm16LittleEndian(request.samples)).base64EncodedString(), live: request.pass.rawValue, language: request.language,
                initialPrompt: request.prompt, beamSize: beamSize, vad: "off", context: correlation),
            model: model, replying: WhisperReply.self, metrics: metrics)
        metrics.recordRunnerInference(
            runner: "faster-whisper", model: model, seconds: reply.timings.inferenceSeconds, audioSeconds: reply.timings.audioSeconds)
        logger.debug("live_decode_finished", metadata: [
            "session_id": "\(correlation["session_id"] ?? "")", "request_id": "\(correlation["request_id"] ?? "")", "pass": "\(request.pass.rawValue)",
            "audio_seconds": "\(String(format: "%.2f", reply.timings.audioSeconds))",
            "waited_seconds": "\(String(format: "%.3f", (started - asked).seconds))",
            "decode_seconds": "\(String(format: "%.3f", (ContinuousClock.now - started).seconds))",
        ])
        let words = reply.segments.flatMap(\.words).map {
            RecognizedWord(text: $0.word, start: $0.start, end: $0.end, confidence: $0.probability ?? 0)
        }
        return LiveDecoding(words: words, language: reply.language)
    }

    private func takeTurn(final: Bool) async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { turn in waiting.append((final, turn)) }
    }

    private func giveTurn() {
        guard !waiting.isEmpty else {
            busy = false
            return
        }
        let next = waiting.firstIndex { $0.final } ?? 0
        waiting.remove(at: next).turn.resume()
    }
}

/// A live session's view of the shared runner: `decode` blocks the session's own thread (a lane
/// of the realtime worker, never Swift's cooperative pool) while the runner works.
package final class WhisperLiveDecoder: LiveDecoder, @unchecked Sendable {
    // Set and read on the session's lane only.
    package var correlation: [String: String] = [:]
    private let runner: WhisperLiveRunner
    private let model: String

    package init(runner: WhisperLiveRunner, model: String) {
        self.runner = runner
        self.model = model
    }

    package func decode(_ request: LiveDecodeRequest) throws -> LiveDecoding {
        let outcome = BlockingOutcome<LiveDecoding>()
        let (runner, model, correlation) = (runner, model, correlation)
        Task {
            do {
                outcome.deliver(.success(try await runner.decode(request, model: model, correlation: correlation)))
            } catch {
                outcome.deliver(.failure(error))
            }
        }
        return try outcome.wait().get()
    }
}

/// One result handed from a task to a waiting thread.
final class BlockingOutcome<Value: Sendable>: @unchecked Sendable {
    private let ready = DispatchSemaphore(value: 0)
    // Written once before `ready` is signalled, read after it.
    private var result: Result<Value, any Error>?

    func deliver(_ result: Result<Value, any Error>) {
        self.result = result
        ready.signal()
    }

    func wait() -> Result<Value, any Error> {
        ready.wait()
        return result ?? .failure(RunnerError.died("no result"))
    }
}
