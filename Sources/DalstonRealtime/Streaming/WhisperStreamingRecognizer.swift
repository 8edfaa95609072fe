import DalstonCore
import Foundation

/// Decodes a whole buffer of audio at once (Whisper): what the streaming policy runs again and
/// again on the growing utterance. Blocks until the decoding is done; called from the session's
/// own thread.
package protocol LiveDecoder: AnyObject {
    /// The session's `session_id` and `request_id`: what runs the model logs with them.
    var correlation: [String: String] { get set }
    func decode(_ request: LiveDecodeRequest) throws -> LiveDecoding
}

package struct LiveDecodeRequest: Sendable, Equatable {
    package enum Pass: String, Sendable {
        /// A quick guess at the utterance so far (greedy).
        case partial
        /// The utterance's last decoding (full search): what is not confirmed yet settles on it.
        case final
    }

    /// 16 kHz mono samples, the utterance's buffer.
    package var samples: [Int16]
    /// Text said just before the buffer (Whisper's initial prompt), for continuity.
    package var prompt: String?
    /// nil: detect.
    package var language: String?
    package var pass: Pass

    package init(samples: [Int16], prompt: String?, language: String?, pass: Pass) {
        self.samples = samples
        self.prompt = prompt
        self.language = language
        self.pass = pass
    }
}

package struct LiveDecoding: Sendable, Equatable {
    /// Words with times in seconds from the buffer's first sample.
    package var words: [RecognizedWord]
    package var language: String?
    package init(words: [RecognizedWord], language: String?) {
        self.words = words
        self.language = language
    }
}

/// How often and how much the Whisper streaming policy decodes.
package struct WhisperStreamingOptions: Sendable, Equatable {
    /// Audio an utterance needs before its first partial (shorter buffers mostly yield noise).
    package var firstPartialSeconds = 0.5
    /// The least new audio between two partial decodings.
    package var partialIntervalSeconds = 0.5
    /// The next partial waits for this many times the last decoding's wall time in new audio, so
    /// that partials never take more than about 1/`pacing` of the runner (the rest is for
    /// finals and other sessions).
    package var pacing = 1.5
    /// Past this much buffered audio the buffer is cut after the last confirmed sentence end,
    /// so a long utterance's decoding cost does not grow with it.
    package var trimAfterSeconds = 15.0
    /// Past this, the buffer is cut after the last confirmed word even without a sentence end.
    package var hardTrimSeconds = 25.0
    /// Speech needed before an `auto` session's language is fixed for the rest of the session.
    package var languageDetectionSeconds = 2.0
    /// Longest initial prompt (characters of the text said before the buffer).
    package var promptCharacters = 200
    /// Audio this far ahead of the wall clock (a file streamed faster than real time) gets no
    /// partials: nobody follows them live, and decoding goes to the finals instead.
    package var partialsAheadOfRealTimeSeconds = 2.0

    package init() {}
}

/// Whisper as a live recogniser: Whisper is not a streaming model, so the utterance's growing
/// buffer is decoded again at a cadence paced by how long decoding takes; words are confirmed by
/// local agreement of consecutive decodings and never taken back; the end of the utterance
/// settles the rest with a full-search decoding. The buffer is trimmed at confirmed sentence
/// ends (the trimmed text becomes the next decoding's prompt), so long utterances (a client
/// that commits by hand, or never pauses) cost no more to decode than short ones. An `auto` session's language is detected once, from its first
/// seconds of speech, and then held.
package final class WhisperStreamingRecognizer: StreamingRecognizer {
    private let decoder: any LiveDecoder
    private let options: WhisperStreamingOptions
    private static let rate = 16_000.0

    /// The session's language: fixed by the client, or detected once (nil until then).
    private var language: String?
    private var languageFixed = false
    /// Text of this utterance confirmed and trimmed from the buffer: the prompt. Only the same
    /// utterance's: a prompt of earlier, unrelated speech made Whisper loop (3.8 s instead of
    /// 0.6 s, and invented text, for a clip of spoken digits after a sentence).
    private var context = ""

    private var buffer: [Int16] = []
    /// Samples of the utterance cut from the buffer's front.
    private var trimmed = 0
    private var newSamples = 0
    private var lastDecodeSeconds = 0.0
    private var agreement = LocalAgreement()
    private var hypothesis: String?
    /// The session's clock: when it began, and the samples it has had since.
    private var sessionStarted = ContinuousClock.now
    private var sessionSamples = 0

    package init(decoder: any LiveDecoder, options: WhisperStreamingOptions = WhisperStreamingOptions()) {
        self.decoder = decoder
        self.options = options
    }

    package func beginSession(language: String, correlation: [String: String]) {
        setLanguage(language)
        sessionStarted = .now
        sessionSamples = 0
        decoder.correlation = correlation
    }

    package func setLanguage(_ code: String) {
        let code = code.lowercased()
        languageFixed = code != "auto" && !code.isEmpty
        language = languageFixed ? code : nil
    }

    package var detectedLanguage: String? { language }

    /// The current utterance's words confirmed so far (never taken back).
    package var confirmedWords: [RecognizedWord] { agreement.confirmed }

    package func startUtterance() throws {
        context = ""
        buffer = []
        trimmed = 0
        newSamples = 0
        agreement = LocalAgreement()
        hypothesis = nil
    }

    package func process(_ samples: [Int16]) throws {
        buffer += samples
        newSamples += samples.count
        sessionSamples += samples.count
    }

    package func partialHypothesis() throws -> String? {
        let wait = max(options.partialIntervalSeconds, options.pacing * lastDecodeSeconds)
        let ahead = Double(sessionSamples) / Self.rate - (ContinuousClock.now - sessionStarted).seconds
        guard Double(trimmed + buffer.count) / Self.rate >= options.firstPartialSeconds, Double(newSamples) / Self.rate >= wait,
            ahead <= options.partialsAheadOfRealTimeSeconds
        else {
            return hypothesis
        }
        let decoding = try decode(.partial)
        _ = agreement.insert(decoding)
        trim()
        hypothesis = (agreement.confirmed + agreement.pending).map(\.text).joined(separator: " ")
        return hypothesis
    }

    package func discardUtterance() {
        try? startUtterance()
    }

    package func endUtterance() throws -> [RecognizedWord] {
        defer { try? startUtterance() }
        guard !buffer.isEmpty else { return agreement.confirmed }
        _ = agreement.finish(try decode(.final))
        return agreement.confirmed
    }

    // MARK: Decoding

    /// Decodes the buffer; the words' times are made the utterance's (the trimmed part added).
    private func decode(_ pass: LiveDecodeRequest.Pass) throws -> [RecognizedWord] {
        let started = ContinuousClock.now
        let decoding = try decoder.decode(LiveDecodeRequest(
            samples: buffer, prompt: context.isEmpty ? nil : String(context.suffix(options.promptCharacters)), language: language, pass: pass))
        lastDecodeSeconds = (ContinuousClock.now - started).seconds
        newSamples = 0
        if !languageFixed, let detected = decoding.language, !detected.isEmpty,
            pass == .final || Double(buffer.count) / Self.rate >= options.languageDetectionSeconds
        {
            language = detected
            languageFixed = true
        }
        let offset = Double(trimmed) / Self.rate
        return decoding.words.map { word in
            RecognizedWord(text: word.text, start: word.start + offset, end: word.end + offset, confidence: word.confidence)
        }
    }

    /// Cuts the buffer after a confirmed sentence end once it is long (after any confirmed word
    /// once it is very long); the words cut become prompt text.
    private func trim() {
        let seconds = Double(buffer.count) / Self.rate
        guard seconds > options.trimAfterSeconds else { return }
        let start = Double(trimmed) / Self.rate
        let candidates = agreement.confirmed.filter { $0.end > start }
        let cut = candidates.last { Self.endsSentence($0.text) } ?? (seconds > options.hardTrimSeconds ? candidates.last : nil)
        guard let cut else { return }
        let samples = min(buffer.count, Int((cut.end * Self.rate).rounded()) - trimmed)
        guard samples > 0 else { return }
        buffer.removeFirst(samples)
        trimmed += samples
        remember(candidates.prefix { $0.end <= cut.end }[...])
    }

    private func remember(_ words: ArraySlice<RecognizedWord>) {
        let text = words.map(\.text).joined(separator: " ")
        guard !text.isEmpty else { return }
        context = String((context.isEmpty ? text : context + " " + text).suffix(options.promptCharacters * 2))
    }

    static func endsSentence(_ word: String) -> Bool {
        guard let last = word.last else { return false }
        return ".?!。？！".contains(last)
    }
}
