import DalstonAudio
import DalstonBroker
import DalstonGateway
import DalstonPipeline
import DalstonRuntime
import DalstonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The API's two costs people notice: how long a short clip takes through OpenAI's synchronous
/// route against Dalston's asynchronous route with polling, and what decoding a compressed
/// format costs against WAV, per minute of audio.
func runAPIBenchmark() async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let sample = root.appendingPathComponent("Samples/hello-world.wav")
    try await runLatencyComparison(sample)
    print()
    try await runDecodeComparison(sample)
}

private func runLatencyComparison(_ sample: URL) async throws {
    let rounds = BenchmarkSettings.count("BENCH_ROUNDS", full: 9, smoke: 1)
    print("Latency of one \(sample.lastPathComponent) (3.7 s of speech), `dalston up` in process, median of \(rounds)")
    let port = try freeTCPPort()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-api-\(UUID().uuidString)")
    var deployment = Deployment(
        environment: ["DALSTON_PORT": "\(port)"], broker: InMemoryBroker(), artifacts: FileArtifactStore(root: directory))
    deployment.runnerOptions.pollInterval = .milliseconds(500)
    let running = try deployment.start([.gateway, .orchestrator] + deployment.engines.engineIDs.map { .engine($0) })
    defer { try? FileManager.default.removeItem(at: directory) }
    let base = "http://127.0.0.1:\(port)"
    do {
        try await waitUntilHealthy(URL(string: "\(base)/health")!)
    } catch {
        await running.stop()
        throw error
    }
    let audio = try Data(contentsOf: sample)

    func post(_ fields: [String: String]) async throws -> Data {
        var form = MultipartFormBody()
        for (name, value) in fields { form.addField(name, value) }
        form.addFile("file", filename: "clip.wav", contents: Array(audio))
        var request = URLRequest(url: URL(string: "\(base)/v1/audio/transcriptions")!)
        request.httpMethod = "POST"
        request.setValue(form.contentType, forHTTPHeaderField: "Content-Type")
        request.timeoutInterval = 120
        return try await URLSession.shared.upload(for: request, from: Data(form.encoded)).0
    }
    func synchronous() async throws -> Double {
        let start = ContinuousClock.now
        _ = try await post(["model": "whisper-1"])
        return (ContinuousClock.now - start).seconds
    }
    func polled(every interval: Duration) async throws -> Double {
        let start = ContinuousClock.now
        let created = try JSONSerialization.jsonObject(with: try await post([:])) as? [String: Any]
        guard let id = created?["id"] as? String else { throw BenchmarkFailure("the job was not created: \(created ?? [:])") }
        while true {
            if ContinuousClock.now - start > BenchmarkSettings.stallTimeout {
                throw BenchmarkFailure("job \(id) did not complete within \(BenchmarkSettings.stallTimeout)")
            }
            let (data, _) = try await URLSession.shared.data(from: URL(string: "\(base)/v1/audio/transcriptions/\(id)")!)
            if ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["status"] as? String == "completed" { break }
            try await Task.sleep(for: interval)
        }
        return (ContinuousClock.now - start).seconds
    }
    _ = try await synchronous()  // warm-up: the recogniser loads its model once
    var sync: [Double] = [], fast: [Double] = [], slow: [Double] = []
    for _ in 0..<rounds {
        sync.append(try await synchronous())
        fast.append(try await polled(every: .milliseconds(100)))
        slow.append(try await polled(every: .seconds(1)))
    }
    await running.stop()
    let median = { (values: [Double]) in values.sorted()[values.count / 2] }
    print("  OpenAI route (synchronous, whisper-1)      \(String(format: "%6.0f ms", median(sync) * 1000))   ratio 1.00")
    print("  native route + polling every 100 ms       \(String(format: "%6.0f ms", median(fast) * 1000))   ratio \(String(format: "%.2f", median(fast) / median(sync)))")
    print("  native route + polling every 1 s          \(String(format: "%6.0f ms", median(slow) * 1000))   ratio \(String(format: "%.2f", median(slow) / median(sync)))")
}

private func runDecodeComparison(_ sample: URL) async throws {
    guard FFmpeg.isAvailable else {
        print("Decoding: skipped (ffmpeg is not installed)")
        return
    }
    let minutes = BenchmarkSettings.amount("BENCH_AUDIO_MINUTES", full: 10, smoke: 0.2)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-bench-decode-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    // The sample looped to `minutes`, as a phone or browser would send it: 44.1 kHz stereo.
    let wav = directory.appendingPathComponent("long.wav")
    let mp3 = directory.appendingPathComponent("long.mp3")
    let ffmpeg = URL(fileURLWithPath: "/usr/bin/ffmpeg")
    for (output, codec) in [(wav, ["-codec:a", "pcm_s16le"]), (mp3, ["-codec:a", "libmp3lame", "-b:a", "128k"])] {
        let result = try await runProcess(ffmpeg, arguments: ["-v", "error", "-y", "-stream_loop", "-1", "-i", sample.path, "-t", String(minutes * 60),
                                                              "-ar", "44100", "-ac", "2"] + codec + [output.path])
        guard result.status == 0 else {
            print("Decoding: skipped (ffmpeg could not encode the sample: \(result.stderr.prefix(200)))")
            return
        }
    }
    print("Decoding \(minutes.formatted(.number.precision(.fractionLength(0...1)))) min of 44.1 kHz stereo audio to 16 kHz mono (audio-prepare's work), median of 3")
    var wavSeconds: [Double] = [], mp3Seconds: [Double] = []
    for _ in 0..<3 {
        var start = ContinuousClock.now
        let bytes = Array(try Data(contentsOf: wav))
        _ = PreparedAudio.prepare(try WAVDecoder.decode(bytes))
        wavSeconds.append((ContinuousClock.now - start).seconds)
        start = ContinuousClock.now
        _ = try await FFmpeg.decode(mp3, sampleRate: PreparedAudio.sampleRate, maximumSeconds: minutes * 60 + 60, timeout: .seconds(600))
        mp3Seconds.append((ContinuousClock.now - start).seconds)
    }
    let wavMedian = wavSeconds.sorted()[1], mp3Median = mp3Seconds.sorted()[1]
    print("  WAV, decoded and resampled in process     \(String(format: "%6.3f s per minute of audio", wavMedian / minutes))   ratio 1.00")
    print("  MP3 128 kb/s through ffmpeg               \(String(format: "%6.3f s per minute of audio", mp3Median / minutes))   ratio \(String(format: "%.2f", mp3Median / wavMedian))")
}
