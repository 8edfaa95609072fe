import DalstonAudio
import DalstonBroker
import DalstonPipeline
import DalstonRuntime
import DalstonTestSupport
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization

/// How many live sessions one realtime worker keeps up with on this machine, and how quickly it
/// answers: clients stream `Samples/hello-world.wav` (3.7 s of speech between 0.5 s and 1.5 s of
/// silence) at real-time pace in 100 ms frames, all at once, through the gateway to one worker.
///
/// - first partial: from the first frame with speech to the first `transcript.partial`;
/// - final: from the last frame with speech to its `transcript.final` (this includes the 400 ms
///   of silence the VAD waits for before it calls the utterance over);
/// - end wait: from `end` to `session.end`: near zero while the worker keeps up; it grows with
///   the audio still queued when the worker falls behind;
/// - real-time factor: one session sent as fast as the socket takes it, processing time over
///   audio time (below 1 is faster than real time).
///
/// `BENCH_REALTIME_LEVELS` (default `1,2,4,6,8,10`) sets the concurrent sessions tried.
func runRealtimeBenchmark() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let levels = BenchmarkSettings.counts("BENCH_REALTIME_LEVELS", full: [1, 2, 4, 6, 8, 10], smoke: [1])
    let capacity = levels.max() ?? 1
    let port = try freeTCPPort()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-rt-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let deployment = Deployment(
        environment: ["DALSTON_PORT": "\(port)", "DALSTON_REALTIME_MAX_SESSIONS": "\(capacity)"], broker: InMemoryBroker(),
        artifacts: FileArtifactStore(root: directory))
    let running = try deployment.start([.gateway, .realtimeWorker])
    guard await eventually(timeout: .seconds(60), { (try? await deployment.sessionRouterStore.workers().count) == 1 }) else {
        await running.stop()
        throw BenchmarkFailure("the realtime worker did not start within 60 s")
    }
    let audio = try WAVDecoder.decode(Array(try Data(contentsOf: root.appendingPathComponent("Samples/hello-world.wav"))))
    let speech = Resampler().resample(audio.downmixed(), from: audio.sampleRate, to: 16_000)
    let clip = LiveClip(speech: speech, leadingSilence: 0.5, trailingSilence: 1.5)
    let url = "ws://127.0.0.1:\(port)/v1/audio/transcriptions/stream"

    print("Realtime: one worker (capacity \(capacity)), \(String(format: "%.1f", clip.duration)) s clips streamed in real time, all sessions at once")
    print("sessions".leftPadded(9) + "first partial p50/p95 (s)".leftPadded(28) + "final p50/p95 (s)".leftPadded(22)
          + "end wait max (s)".leftPadded(18) + "complete".leftPadded(10) + "  keeps up")
    for level in levels {
        let results = try await withThrowingTaskGroup(of: LiveClip.Result.self) { group in
            for _ in 0..<level { group.addTask { try await clip.stream(to: url, paced: true) } }
            return try await group.reduce(into: [LiveClip.Result]()) { $0.append($1) }
        }
        let partials = results.compactMap(\.firstPartial).sorted()
        let finals = results.compactMap(\.finalLatency).sorted()
        let endWait = results.map(\.endWait).max() ?? 0
        let complete = results.filter(\.heardTheWords).count
        let keepsUp = complete == level && endWait < 1 && (percentile(finals, 0.95) ?? 99) < 2
        let partialColumn: String = "\(format(percentile(partials, 0.5))) / \(format(percentile(partials, 0.95)))"
        let finalColumn: String = "\(format(percentile(finals, 0.5))) / \(format(percentile(finals, 0.95)))"
        var row = String(level).leftPadded(9)
        row += partialColumn.leftPadded(28)
        row += finalColumn.leftPadded(22)
        row += format(endWait).leftPadded(18)
        row += "\(complete)/\(level)".leftPadded(10)
        row += "  " + (keepsUp ? "yes" : "no")
        print(row)
    }
    let fast = try await clip.stream(to: url, paced: false)
    print("Real-time factor, one session unpaced: \(format(fast.total / clip.duration, digits: 3)) (\(format(fast.total)) s for \(format(clip.duration)) s of audio)")
    await running.stop()
}

private func percentile(_ sorted: [Double], _ fraction: Double) -> Double? {
    guard !sorted.isEmpty else { return nil }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
}

private func format(_ value: Double?, digits: Int = 2) -> String {
    value.map { String(format: "%.\(digits)f", $0) } ?? "-"
}

/// One clip with silence around its speech, as 100 ms frames of PCM16 at 16 kHz.
struct LiveClip: Sendable {
    let frames: [[UInt8]]
    let firstSpeechFrame: Int
    let lastSpeechFrame: Int
    let duration: Double

    init(speech: [Float], leadingSilence: Double, trailingSilence: Double) {
        let rate = 16_000
        let samples = [Float](repeating: 0, count: Int(leadingSilence * Double(rate))) + speech
            + [Float](repeating: 0, count: Int(trailingSilence * Double(rate)))
        let bytes = WAVEncoder.pcm16LittleEndian(samples)
        frames = stride(from: 0, to: bytes.count, by: 3200).map { Array(bytes[$0..<min(bytes.count, $0 + 3200)]) }
        firstSpeechFrame = Int(leadingSilence * 10)
        lastSpeechFrame = Int((leadingSilence + Double(speech.count) / Double(rate)) * 10)
        duration = Double(samples.count) / Double(rate)
    }

    struct Result: Sendable {
        var firstPartial: Double?
        var finalLatency: Double?
        var endWait: Double
        var total: Double
        var heardTheWords: Bool
    }

    /// Streams the clip (at real-time pace, or as fast as the socket takes it) and times the answers.
    func stream(to url: String, paced: Bool) async throws -> Result {
        let clock = ContinuousClock()
        let marks = Locked<(firstSpeech: ContinuousClock.Instant?, lastSpeech: ContinuousClock.Instant?, end: ContinuousClock.Instant?)>((nil, nil, nil))
        let answers = Locked<(partial: ContinuousClock.Instant?, final: ContinuousClock.Instant?, ended: ContinuousClock.Instant?, text: String)>((nil, nil, nil, ""))
        let start = clock.now
        try await WebSocketClient.connect(url: url, logger: Logger(label: "bench.realtime")) { inbound, outbound, _ in
            let sender = Task {
                var next = clock.now
                for (index, frame) in frames.enumerated() {
                    if index == firstSpeechFrame { marks.withLock { $0.firstSpeech = clock.now } }
                    try await outbound.write(.binary(ByteBuffer(bytes: frame)))
                    if index == lastSpeechFrame { marks.withLock { $0.lastSpeech = clock.now } }
                    if paced {
                        next = next.advanced(by: .milliseconds(100))
                        try await clock.sleep(until: next)
                    }
                }
                marks.withLock { $0.end = clock.now }
                try await outbound.write(.text(#"{"type":"end"}"#))
            }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message, let event = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { continue }
                let now = clock.now
                switch event["type"] as? String {
                case "transcript.partial": answers.withLock { if $0.partial == nil { $0.partial = now } }
                case "transcript.final":
                    answers.withLock { state in
                        if state.final == nil { state.final = now }
                        state.text += " " + (event["text"] as? String ?? "")
                    }
                case "session.end": answers.withLock { $0.ended = now }
                default: break
                }
            }
            _ = try? await sender.value
        }
        let sent = marks.withLock { $0 }
        let got = answers.withLock { $0 }
        func seconds(_ from: ContinuousClock.Instant?, _ to: ContinuousClock.Instant?) -> Double? {
            guard let from, let to else { return nil }
            return (to - from).seconds
        }
        return Result(
            firstPartial: seconds(sent.firstSpeech, got.partial), finalLatency: seconds(sent.lastSpeech, got.final),
            endWait: seconds(sent.end, got.ended) ?? 99, total: seconds(start, got.ended) ?? 99,
            heardTheWords: got.text.contains("hello") && got.text.contains("system"))
    }
}
