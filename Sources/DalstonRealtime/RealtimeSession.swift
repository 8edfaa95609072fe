import DalstonAudio

/// One live session's transcription: decodes the client's frames, finds utterances with the
/// voice-activity detector, feeds them to the recogniser as they arrive, and says what happened
/// as native protocol events.
///
/// Times are seconds of the client's stream (silence included), so a final's `start`/`end`
/// point into the audio the client sent. Not thread-safe: one session, one caller at a time.
package final class RealtimeSession {
    package private(set) var settings: SessionSettings
    private var recognizer: any StreamingRecognizer
    private let correlation: [String: String]
    /// The recogniser of another model a client switches to mid-session (`config` `model`):
    /// the model's resolved name and its recogniser, or why it cannot be had. nil: no switching.
    package var switchModel: ((String) throws -> (String, any StreamingRecognizer))?
    private var decoder: AudioFrameDecoder
    private var detector: VoiceActivityDetector
    private static let rate = Double(PreparedAudio.sampleRate)
    /// How often a partial is offered while speech goes on.
    package var partialInterval = 0.3

    /// Samples (16 kHz) received and segmented so far: the stream's clock.
    private var clock = 0
    /// Samples waiting to fill a VAD frame.
    private var framePending: [Float] = []
    /// Recent silence kept for the next utterance's start.
    private var preRoll: [Float] = []

    private struct Utterance {
        var start: Int
        var fed = 0
        var speech = 0
        var silenceRun = 0
        var sinceLastPartial = 0
        var lastPartial = ""
        var partialFailed = false
    }
    private var utterance: Utterance?

    private var segments: [SessionSegment] = []
    private var speechSeconds = 0.0
    package private(set) var ended = false

    package init(settings: SessionSettings, recognizer: any StreamingRecognizer, correlation: [String: String] = [:]) {
        self.settings = settings
        self.recognizer = recognizer
        self.correlation = correlation
        decoder = AudioFrameDecoder(encoding: settings.encoding, sampleRate: settings.sampleRate)
        detector = VoiceActivityDetector(threshold: settings.vad.threshold)
        recognizer.beginSession(language: settings.language, correlation: correlation)
    }

    package var begin: RealtimeEvent {
        .sessionBegin(sessionID: settings.sessionID, config: SessionBeginConfig(
            sampleRate: settings.sampleRate, encoding: settings.encoding.rawValue, language: settings.language,
            model: settings.model.isEmpty ? nil : settings.model))
    }

    /// Seconds of audio the client has sent, at its own rate.
    package var audioSeconds: Double { Double(decoder.inputSamples) / Double(settings.sampleRate) }

    // MARK: Input

    package func audio(_ bytes: [UInt8]) -> [RealtimeEvent] {
        guard !ended else { return [] }
        framePending += decoder.decode(bytes)
        var events: [RealtimeEvent] = []
        let frame = VoiceActivityDetector.frameSamples
        var offset = 0
        while framePending.count - offset >= frame {
            events += segment(framePending[offset..<offset + frame])
            offset += frame
        }
        framePending.removeFirst(offset)
        return events
    }

    package func control(_ message: ClientMessage) -> [RealtimeEvent] {
        guard !ended else { return [] }
        switch message {
        case .flush:
            return endUtteranceNow()
        case .clear:
            utterance.map { _ in recognizer.discardUtterance() }
            utterance = nil
            framePending = []
            preRoll = []
            decoder.discardPending()
            return []
        case .end:
            return finish()
        case .config(let values):
            do {
                var events: [RealtimeEvent] = []
                if let enable = try SessionSettings.boolean(values, "enable_vad"), enable != settings.enableVAD {
                    // Switching segmentation ends what the old mode was collecting.
                    events = endUtteranceNow()
                    settings.enableVAD = enable
                }
                if let model = values["model"] {
                    guard let switchModel else { throw InvalidSessionParameter("model", "cannot change during this session") }
                    let (resolved, next) = try switchModel(model)
                    if resolved != settings.model {
                        // The utterance under way ends with the model it began with.
                        events += endUtteranceNow()
                        settings.model = resolved
                        recognizer = next
                        recognizer.beginSession(language: settings.language, correlation: correlation)
                    }
                }
                if let language = values["language"], !language.isEmpty, language != settings.language {
                    settings.language = language
                    recognizer.setLanguage(language)
                }
                try settings.vad.update(from: values)
                detector.threshold = settings.vad.threshold
                return events
            } catch let error as InvalidSessionParameter {
                return [.error(RealtimeError(code: "invalid_message", message: "config: \(error.description)", recoverable: true))]
            } catch {
                return [.error(RealtimeError(code: "model_unavailable", message: "config: the recogniser could not be loaded: \(error)", recoverable: true))]
            }
        }
    }

    /// The last final, then `session.end` (also when the client went away without `end`).
    package func finish() -> [RealtimeEvent] {
        guard !ended else { return [] }
        var events = endUtteranceNow()
        ended = true
        events.append(.sessionEnd(summary))
        return events
    }

    package var summary: SessionSummary {
        SessionSummary(
            sessionID: settings.sessionID, totalAudioSeconds: Self.round(audioSeconds), totalSpeechDuration: Self.round(speechSeconds),
            transcript: segments.map(\.text).joined(separator: " "), segments: segments)
    }

    // MARK: Segmentation

    /// Ends the utterance under way where the stream is now, its buffered remainder included (a
    /// flush, the end, or a change of segmentation or model).
    private func endUtteranceNow() -> [RealtimeEvent] {
        flushPending() + finishUtterance(at: clock, requireSpeech: false, emitSpeechEnd: settings.enableVAD && utterance != nil)
    }

    /// A frame shorter than a VAD frame left at a flush still belongs to the utterance.
    private func flushPending() -> [RealtimeEvent] {
        guard !framePending.isEmpty else { return [] }
        let rest = framePending
        framePending = []
        if utterance != nil || !settings.enableVAD {
            return feed(rest[...])
        }
        clock += rest.count
        return []
    }

    private func segment(_ frame: ArraySlice<Float>) -> [RealtimeEvent] {
        guard settings.enableVAD else {
            var events = feed(frame)
            if let current = utterance, current.fed >= settings.vad.maxUtteranceSeconds * PreparedAudio.sampleRate {
                events += finishUtterance(at: clock, requireSpeech: false, emitSpeechEnd: false)
            }
            return events
        }
        let speech = detector.isSpeech(frame)
        guard var current = utterance else {
            guard speech else {
                clock += frame.count
                preRoll += frame
                let keep = settings.vad.prefixPaddingMilliseconds * PreparedAudio.sampleRate / 1000
                if preRoll.count > keep { preRoll.removeFirst(preRoll.count - keep) }
                return []
            }
            var events: [RealtimeEvent] = [.speechStart(timestamp: Self.round(Double(clock) / Self.rate))]
            events += startUtterance(start: clock - preRoll.count, seed: preRoll)
            preRoll = []
            return events + feed(frame, speech: true)
        }
        if speech {
            current.silenceRun = 0
        } else {
            current.silenceRun += frame.count
        }
        utterance = current
        var events = feed(frame, speech: speech)
        guard let fed = utterance else { return events }
        if fed.silenceRun >= settings.vad.minSilenceMilliseconds * PreparedAudio.sampleRate / 1000 {
            events += finishUtterance(at: clock - fed.silenceRun, requireSpeech: true, emitSpeechEnd: true)
        } else if fed.fed >= settings.vad.maxUtteranceSeconds * PreparedAudio.sampleRate {
            events += finishUtterance(at: clock, requireSpeech: false, emitSpeechEnd: true)
            events.append(.speechStart(timestamp: Self.round(Double(clock) / Self.rate)))
            events += startUtterance(start: clock, seed: [])
        }
        return events
    }

    private func startUtterance(start: Int, seed: [Float]) -> [RealtimeEvent] {
        do {
            try recognizer.startUtterance()
        } catch {
            return [.error(RealtimeError(code: "internal_error", message: "the recogniser could not start: \(error)", recoverable: true))]
        }
        utterance = Utterance(start: start)
        if !seed.isEmpty {
            do {
                try recognizer.process(WAVEncoder.int16Samples(seed))
                utterance?.fed = seed.count
            } catch {
                return [.error(RealtimeError(code: "internal_error", message: "the recogniser failed: \(error)", recoverable: true))]
            }
        }
        return []
    }

    private func feed(_ samples: ArraySlice<Float>, speech: Bool = true) -> [RealtimeEvent] {
        var events: [RealtimeEvent] = []
        if utterance == nil {
            events += startUtterance(start: clock, seed: [])
            guard utterance != nil else {
                clock += samples.count
                return events
            }
        }
        clock += samples.count
        do {
            try recognizer.process(WAVEncoder.int16Samples(Array(samples)))
        } catch {
            return events + [.error(RealtimeError(code: "internal_error", message: "the recogniser failed: \(error)", recoverable: true))]
        }
        guard var current = utterance else { return events }
        current.fed += samples.count
        if speech { current.speech += samples.count }
        current.sinceLastPartial += samples.count
        if settings.interimResults, Double(current.sinceLastPartial) / Self.rate >= partialInterval {
            current.sinceLastPartial = 0
            do {
                if let text = try recognizer.partialHypothesis().map(Self.clean), !text.isEmpty, text != current.lastPartial {
                    current.lastPartial = text
                    events.append(.partial(TranscriptPiece(
                        text: text, start: Self.round(Double(current.start) / Self.rate), end: Self.round(Double(clock) / Self.rate))))
                }
            } catch {
                // Once per utterance: the final will try again (a recogniser restarted meanwhile).
                if !current.partialFailed {
                    current.partialFailed = true
                    events.append(.error(RealtimeError(code: "internal_error", message: "the recogniser failed: \(error)", recoverable: true)))
                }
            }
        }
        utterance = current
        return events
    }

    /// Ends the current utterance at `endSample`: a final when it had words (and, when
    /// `requireSpeech`, enough speech not to be noise).
    private func finishUtterance(at endSample: Int, requireSpeech: Bool, emitSpeechEnd: Bool) -> [RealtimeEvent] {
        guard let current = utterance else { return [] }
        utterance = nil
        var events: [RealtimeEvent] = []
        if emitSpeechEnd { events.append(.speechEnd(timestamp: Self.round(Double(endSample) / Self.rate))) }
        let enoughSpeech = current.speech >= settings.vad.minSpeechMilliseconds * PreparedAudio.sampleRate / 1000
        guard !requireSpeech || enoughSpeech else {
            // Noise, not speech: nothing to say, and nothing to spend a decoding on.
            recognizer.discardUtterance()
            return events
        }
        let words: [RecognizedWord]
        do {
            words = try recognizer.endUtterance()
        } catch {
            return events + [.error(RealtimeError(code: "internal_error", message: "the recogniser failed: \(error)", recoverable: true))]
        }
        guard !words.isEmpty else { return events }
        let offset = Double(current.start) / Self.rate
        let start = Self.round(offset)
        let end = Self.round(max(Double(endSample) / Self.rate, offset + (words.last?.end ?? 0)))
        let text = words.map(\.text).joined(separator: " ")
        let confidence = Self.round(words.map(\.confidence).reduce(0, +) / Double(words.count))
        let timed = settings.wordTimestamps
            ? words.map { RealtimeWord(word: $0.text, start: Self.round(offset + $0.start), end: Self.round(offset + $0.end), confidence: Self.round($0.confidence)) }
            : nil
        segments.append(SessionSegment(start: start, end: end, text: text))
        speechSeconds += end - start
        events.append(.final(FinalTranscript(
            text: text, start: start, end: end, confidence: confidence, words: timed, language: recognizer.detectedLanguage)))
        return events
    }

    /// Fillers and alternate-pronunciation marks out of a hypothesis.
    static func clean(_ hypothesis: String) -> String {
        hypothesis.split(separator: " ").filter { !$0.hasPrefix("<") && !$0.hasPrefix("[") }.joined(separator: " ")
    }

    static func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}
