import DalstonAudio
import DalstonBroker
package import DalstonEngineSDK
import DalstonPipeline
package import DalstonRealtime
import Foundation

/// Speech recognition with CMU PocketSphinx (US English acoustic and language model).
///
/// Built only where `libpocketsphinx-dev` is installed; elsewhere `TranscribeEngine.make()`
/// throws `unavailableReason` and nothing is faked.
package enum TranscribeEngine {
    #if canImport(CPocketSphinx)
    package static let isAvailable = true
    #else
    package static let isAvailable = false
    #endif

    package static let unavailableReason =
        "this build has no speech recogniser: install libpocketsphinx-dev and pocketsphinx-en-us (apt-get), then rebuild"

    /// `POCKETSPHINX_MODEL_DIR` or Debian's location.
    package static func modelDirectory(_ environment: [String: String]) -> String {
        environment["POCKETSPHINX_MODEL_DIR"] ?? "/usr/share/pocketsphinx/model/en-us"
    }

    package struct Unavailable: Error, CustomStringConvertible {
        package let description: String
    }

    /// A live recogniser for one realtime session (each holds its own decoder and model copy).
    package static func makeStreamingRecognizer(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any StreamingRecognizer {
        #if canImport(CPocketSphinx)
        return try PocketSphinxStreamingRecognizer(modelDirectory: modelDirectory(environment))
        #else
        throw Unavailable(description: unavailableReason)
        #endif
    }

    package static func make(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Engine {
        #if canImport(CPocketSphinx)
        return try PocketSphinxEngine(modelDirectory: modelDirectory(environment))
        #else
        throw Unavailable(description: unavailableReason)
        #endif
    }
}

#if canImport(CPocketSphinx)
import CPocketSphinx

/// The transcribe engine: runs the recogniser on a thread of its own (decoding is CPU-bound
/// and blocking) and stores the words with their times as `words.json`.
struct PocketSphinxEngine: Engine {
    let engineID = EngineKind.transcribe
    private let recognizer: PocketSphinxRecognizer

    init(modelDirectory: String) throws {
        recognizer = try PocketSphinxRecognizer(modelDirectory: modelDirectory)
    }

    func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        let audioReference = try task.input.preparedAudio()
        let language = task.input["language"]?.stringValue ?? "en"
        guard language.lowercased().hasPrefix("en") else {
            throw PermanentEngineError("language \(language) is not supported by the PocketSphinx engine (US English only)")
        }
        let (audio, samples) = try await context.step("decode") {
            let audio = try WAVDecoder.decode(await context.read(audioReference))
            return (audio, WAVEncoder.int16Samples(PreparedAudio.prepare(audio)))
        }
        let words = try await context.step("recognize") { try await recognizer.recognize(samples) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let wordsReference = try await context.write(Array(try encoder.encode(words)), name: context.ownFileName("words.json"))
        context.logger.info("speech_recognised", metadata: [
            "word_count": .stringConvertible(words.count), "audio_seconds": .stringConvertible(audio.duration),
        ])
        return ["words": .string(wordsReference.key), "word_count": .number(Double(words.count))]
    }
}

/// One PocketSphinx decoder. The C decoder is not thread-safe: calls are serialised on one
/// dedicated thread (a serial queue), which also keeps its blocking work off Swift's pool.
final class PocketSphinxRecognizer: @unchecked Sendable {
    private let decoder: OpaquePointer
    private let queue = DispatchQueue(label: "dalston.pocketsphinx")

    init(modelDirectory: String) throws {
        decoder = try PocketSphinxDecoder.make(modelDirectory: modelDirectory, keepSilence: true)
    }

    deinit { ps_free(decoder) }

    /// Words with start/end in seconds (frames are 10 ms); fillers and silences left out.
    func recognize(_ samples: [Int16]) async throws -> [TranscriptWord] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.decodeNow(samples) })
            }
        }
    }

    private func decodeNow(_ samples: [Int16]) throws -> [TranscriptWord] {
        guard ps_start_utt(decoder) == 0 else { throw PocketSphinxDecoder.InitialisationFailed(description: "PocketSphinx could not start an utterance") }
        let processed = samples.withUnsafeBufferPointer { buffer in
            ps_process_raw(decoder, buffer.baseAddress, buffer.count, 0, 1)
        }
        ps_end_utt(decoder)
        guard processed >= 0 else { throw PermanentEngineError("PocketSphinx failed to process the audio") }
        let words = PocketSphinxDecoder.words(of: decoder).map {
            TranscriptWord(text: $0.text, start: $0.start, end: $0.end, confidence: $0.confidence)
        }
        return words
    }
}

/// What the batch and the live recogniser share: a configured decoder, and the words of the
/// last utterance.
enum PocketSphinxDecoder {
    struct InitialisationFailed: Error, CustomStringConvertible {
        let description: String
    }

    /// `keepSilence`: its front end drops the frames it takes for silence by default and then
    /// counts word times without them, so a word after a pause comes out early (3 s of leading
    /// silence vanished from a batch transcript). The batch recogniser keeps them, so every time
    /// is the audio's own, at about a third more CPU on audio with a quarter of silence (measured:
    /// 19.4–21.4 s against 13.8–17.5 s for 82 s of evaluation clips). The live recogniser, fed
    /// only what its VAD took for speech, keeps the default.
    static func make(modelDirectory: String, keepSilence: Bool = false) throws -> OpaquePointer {
        let arguments = [
            "-hmm", "\(modelDirectory)/en-us",
            "-lm", "\(modelDirectory)/en-us.lm.bin",
            "-dict", "\(modelDirectory)/cmudict-en-us.dict",
            "-logfn", "/dev/null",
            "-remove_silence", keepSilence ? "no" : "yes",
        ]
        for file in [arguments[1], arguments[3], arguments[5]] where !FileManager.default.fileExists(atPath: file) {
            throw InitialisationFailed(description: "PocketSphinx model file \(file) is missing; install pocketsphinx-en-us or set POCKETSPHINX_MODEL_DIR")
        }
        var cStrings = arguments.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let config = cStrings.withUnsafeMutableBufferPointer { buffer in
            cmd_ln_parse_r(nil, ps_args(), Int32(buffer.count), buffer.baseAddress, 1)
        }
        guard let config else { throw InitialisationFailed(description: "PocketSphinx rejected its configuration") }
        guard let decoder = ps_init(config) else {
            cmd_ln_free_r(config)
            throw InitialisationFailed(description: "PocketSphinx could not load the model from \(modelDirectory)")
        }
        cmd_ln_free_r(config)
        return decoder
    }

    /// Words with start/end in seconds from the utterance's start (frames are 10 ms); fillers
    /// and silences left out.
    static func words(of decoder: OpaquePointer) -> [RecognizedWord] {
        var words: [RecognizedWord] = []
        var segment = ps_seg_iter(decoder)
        while let current = segment {
            if let raw = ps_seg_word(current) {
                var text = String(cString: raw)
                if let parenthesis = text.firstIndex(of: "(") { text = String(text[..<parenthesis]) }  // "the(2)": alternate pronunciation
                let isFiller = text.hasPrefix("<") || text.hasPrefix("[") || text.isEmpty
                if !isFiller {
                    var startFrame: Int32 = 0
                    var endFrame: Int32 = 0
                    ps_seg_frames(current, &startFrame, &endFrame)
                    var acoustic: Int32 = 0, language: Int32 = 0, backoff: Int32 = 0
                    let probability = ps_seg_prob(current, &acoustic, &language, &backoff)
                    words.append(RecognizedWord(
                        text: text, start: Double(startFrame) / 100, end: Double(endFrame + 1) / 100,
                        confidence: min(1, max(0, exp(Double(probability) * 0.0001)))))
                }
            }
            segment = ps_seg_next(current)
        }
        return words
    }
}

/// Live decoding for one realtime session: audio goes to `ps_process_raw` as it arrives,
/// `ps_get_hyp` gives partials, `ps_end_utt` the final words. Not thread-safe; the worker calls
/// it from the session's own queue.
final class PocketSphinxStreamingRecognizer: StreamingRecognizer {
    private let decoder: OpaquePointer
    private var inUtterance = false
    /// Fed in pieces (`full_utt` 0), PocketSphinx numbers a segment's frames from the decoder's
    /// first utterance, not the current one: this is where the current one began (one frame
    /// per 160 samples, 10 ms at 16 kHz).
    private var frameBase = 0
    private var samplesInUtterance = 0

    init(modelDirectory: String) throws {
        decoder = try PocketSphinxDecoder.make(modelDirectory: modelDirectory)
    }

    /// Its one model is US English.
    var detectedLanguage: String? { "en" }

    deinit { ps_free(decoder) }

    func startUtterance() throws {
        if inUtterance { _ = try endUtterance() }
        guard ps_start_utt(decoder) == 0 else { throw RecognizerFailure("PocketSphinx could not start an utterance") }
        inUtterance = true
        samplesInUtterance = 0
    }

    func process(_ samples: [Int16]) throws {
        guard inUtterance, !samples.isEmpty else { return }
        let processed = samples.withUnsafeBufferPointer { ps_process_raw(decoder, $0.baseAddress, $0.count, 0, 0) }
        guard processed >= 0 else { throw RecognizerFailure("PocketSphinx failed to process audio") }
        samplesInUtterance += samples.count
    }

    func partialHypothesis() -> String? {
        guard inUtterance else { return nil }
        var score: Int32 = 0
        return ps_get_hyp(decoder, &score).map { String(cString: $0) }
    }

    func endUtterance() throws -> [RecognizedWord] {
        guard inUtterance else { return [] }
        inUtterance = false
        let base = Double(frameBase) / 100
        let duration = Double(samplesInUtterance) / 16_000
        frameBase += (samplesInUtterance + 159) / 160
        guard ps_end_utt(decoder) >= 0 else { throw RecognizerFailure("PocketSphinx failed to finish an utterance") }
        return PocketSphinxDecoder.words(of: decoder).map { word in
            var word = word
            word.start = min(duration, max(0, word.start - base))
            word.end = min(duration, max(word.start, word.end - base))
            return word
        }
    }
}
#endif
