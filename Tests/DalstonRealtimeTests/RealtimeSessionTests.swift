import Foundation
import Testing

@testable import DalstonRealtime

@Suite("Realtime session")
struct RealtimeSessionTests {
    func session(_ configure: (inout SessionSettings) -> Void = { _ in }) -> (RealtimeSession, ScriptedRecognizer) {
        var settings = SessionSettings(sessionID: "sess_0123456789abcdef")
        settings.wordTimestamps = true
        configure(&settings)
        let recognizer = ScriptedRecognizer()
        return (RealtimeSession(settings: settings, recognizer: recognizer), recognizer)
    }

    func types(_ events: [RealtimeEvent]) -> [String] { events.map(\.type) }
    /// Without partials, which keep coming while the recogniser hears the utterance's tail.
    func milestones(_ events: [RealtimeEvent]) -> [RealtimeEvent] { events.filter { $0.type != "transcript.partial" } }

    /// A client names another model mid-session (OpenAI's session.update): the utterance under
    /// way ends with the model it began with, the next uses the new one; a model the worker does
    /// not stream is a recoverable error and the session goes on as it was.
    @Test func aConfigNamingAnotherModelSwitchesAtTheUtterance() throws {
        let (session, first) = session { $0.model = "faster-whisper-tiny.en" }
        let second = ScriptedRecognizer()
        session.switchModel = { requested in
            guard requested == "pocketsphinx-en-us" else { throw InvalidSessionParameter("model", "\(requested) is not served by this worker") }
            return (requested, second)
        }
        _ = session.audio(TestAudio.tone(0.6))
        let switched = milestones(session.control(.config(["model": "pocketsphinx-en-us"])))
        #expect(types(switched) == ["vad.speech_end", "transcript.final"], "the utterance under way is finished first")
        #expect(first.ended == 1 && second.started == 0)
        #expect(session.settings.model == "pocketsphinx-en-us")
        _ = session.audio(TestAudio.tone(0.6) + TestAudio.silence(0.6))
        #expect(second.ended == 1 && first.ended == 1, "the next utterance is the new model's")
        let refused = session.control(.config(["model": "faster-whisper-large-v3"]))
        guard case .error(let error) = refused.first else {
            Issue.record("an unknown model was taken: \(refused)")
            return
        }
        #expect(error.recoverable && error.message.contains("faster-whisper-large-v3"))
        #expect(session.settings.model == "pocketsphinx-en-us")
    }

    @Test func speechBetweenSilencesIsOneUtteranceWithPartialsAndAFinal() throws {
        let (session, _) = session()
        var events = session.audio(TestAudio.silence(1))
        #expect(events.isEmpty)
        events = session.audio(TestAudio.tone(1.2))
        #expect(types(events).first == "vad.speech_start")
        #expect(types(events).contains("transcript.partial"))
        events = milestones(session.audio(TestAudio.silence(0.6)))
        #expect(types(events) == ["vad.speech_end", "transcript.final"])
        guard case .speechEnd(let ended) = events[0], case .final(let final) = events[1] else {
            Issue.record("expected speech end then final, got \(events)")
            return
        }
        // Speech ran from 1.0 s to 2.2 s of the stream; the final starts with the 300 ms pre-roll.
        #expect(abs(ended - 2.22) < 0.04)
        #expect(abs(final.start - 0.7) < 0.04)
        #expect(final.end >= ended)
        #expect(final.confidence == 0.8)
        let words = try #require(final.words)
        #expect(words.first?.start == final.start)
        #expect(words.allSatisfy { $0.start >= final.start && $0.end <= final.end + 0.001 })
        let end = session.control(.end)
        guard case .sessionEnd(let summary)? = end.last else {
            Issue.record("expected session.end, got \(end)")
            return
        }
        #expect(summary.segments.count == 1)
        #expect(summary.totalAudioSeconds == 2.8)
        #expect(summary.transcript == final.text)
        #expect(session.audio(TestAudio.tone(1)).isEmpty, "nothing after the end")
    }

    @Test func aBlipShorterThanTheMinimumSpeechIsDropped() {
        let (session, recognizer) = session()
        _ = session.audio(TestAudio.silence(0.5))
        let events = milestones(session.audio(TestAudio.tone(0.12)) + session.audio(TestAudio.silence(0.6)))
        #expect(types(events) == ["vad.speech_start", "vad.speech_end"])
        #expect(recognizer.ended == 1, "the recogniser's utterance is closed even when dropped")
    }

    @Test func flushFinalisesTheSpeechSoFarAndClearDiscardsIt() {
        let (session, _) = session()
        _ = session.audio(TestAudio.tone(0.8))
        let flushed = session.control(.flush)
        #expect(types(flushed) == ["vad.speech_end", "transcript.final"])
        _ = session.audio(TestAudio.tone(0.8))
        #expect(session.control(.clear).isEmpty)
        let end = session.control(.end)
        #expect(types(end) == ["session.end"], "cleared speech gives no final")
    }

    @Test func withoutVADEverythingIsOneUtteranceUntilFlushOrEnd() {
        let (session, _) = session { $0.enableVAD = false }
        let events = session.audio(TestAudio.silence(0.5)) + session.audio(TestAudio.tone(0.5)) + session.audio(TestAudio.silence(0.5))
        #expect(!types(events).contains("vad.speech_start"))
        #expect(!types(events).contains("transcript.final"))
        let end = session.control(.end)
        #expect(types(end) == ["transcript.final", "session.end"])
        if case .final(let final) = end[0] {
            #expect(final.start == 0)
            #expect(final.end == 1.5)
        }
    }

    @Test func aLongUtteranceIsCutAtTheMaximum() {
        let (session, _) = session { $0.vad.maxUtteranceSeconds = 1 }
        let events = session.audio(TestAudio.tone(2.5))
        #expect(types(events).filter { $0 == "transcript.final" }.count == 2)
        #expect(types(events).filter { $0 == "vad.speech_start" }.count == 3)
    }

    @Test func partialsCanBeTurnedOff() {
        let (session, _) = session { $0.interimResults = false }
        #expect(!types(session.audio(TestAudio.tone(1.5))).contains("transcript.partial"))
    }

    @Test func configChangesLanguageAndVADAndRefusesBadValues() {
        let (session, _) = session()
        #expect(session.control(.config(["language": "de", "vad_threshold": "0.9"])).isEmpty)
        #expect(session.settings.language == "de")
        #expect(session.settings.vad.threshold == 0.9)
        let refused = session.control(.config(["min_silence_duration_ms": "5"]))
        guard case .error(let error)? = refused.first else {
            Issue.record("expected an error, got \(refused)")
            return
        }
        #expect(error.code == "invalid_message")
        #expect(error.recoverable)
        #expect(error.message.contains("min_silence_duration_ms"))
    }

    @Test func aRecogniserFailureIsARecoverableErrorAndTheSessionGoesOn() {
        let (session, recognizer) = session { $0.enableVAD = false }
        recognizer.failNextProcess = true
        let events = session.audio(TestAudio.tone(0.1))
        #expect(events.contains { if case .error(let error) = $0 { error.code == "internal_error" && error.recoverable } else { false } })
        #expect(types(session.control(.end)).last == "session.end")
    }

    @Test func theFinishOfAnAbandonedSessionStillSummarises() {
        let (session, _) = session()
        _ = session.audio(TestAudio.tone(0.9))
        let events = session.finish()
        #expect(types(events) == ["vad.speech_end", "transcript.final", "session.end"])
        #expect(session.finish().isEmpty)
    }
}

@Suite("Realtime protocol messages")
struct ClientMessageTests {
    @Test func controlMessagesParse() throws {
        #expect(try ClientMessage.parse(#"{"type":"flush"}"#) == .flush)
        #expect(try ClientMessage.parse(#"{"type":"clear"}"#) == .clear)
        #expect(try ClientMessage.parse(#"{"type":"end"}"#) == .end)
        #expect(try ClientMessage.parse(#"{"type":"config","language":"fr","vad_threshold":0.25,"min_silence_duration_ms":300,"enable_vad":false}"#)
            == .config(["language": "fr", "vad_threshold": "0.25", "min_silence_duration_ms": "300", "enable_vad": "false"]))
    }

    @Test(arguments: ["not json", "[1,2]", #"{"type":"dance"}"#, #"{"kind":"end"}"#, #"{"type":"config","language":{"nested":1}}"#, ""])
    func anythingElseIsARecoverableInvalidMessage(_ text: String) {
        #expect {
            try ClientMessage.parse(text)
        } throws: { error in
            guard let error = error as? RealtimeError else { return false }
            return error.code == "invalid_message" && error.recoverable
        }
    }

    @Test func eventsRoundTripThroughTheirWireForm() throws {
        let events: [RealtimeEvent] = [
            .sessionBegin(sessionID: "sess_1", config: SessionBeginConfig(sampleRate: 16000, encoding: "pcm_s16le", language: "en", model: nil)),
            .speechStart(timestamp: 1.5), .speechEnd(timestamp: 2.25), .partial(TranscriptPiece(text: "hel\"lo\n", start: 0, end: 1)),
            .final(FinalTranscript(text: "hello", start: 0, end: 1, confidence: 0.9, words: [RealtimeWord(word: "hello", start: 0, end: 1, confidence: 0.9)])),
            .error(RealtimeError(code: "x", message: "y", recoverable: true)),
            .sessionEnd(SessionSummary(sessionID: "sess_1", totalAudioSeconds: 3, totalSpeechDuration: 1, transcript: "hello", segments: [.init(start: 0, end: 1, text: "hello")])),
        ]
        for event in events {
            #expect(!event.json.contains("\n"), "one line per frame")
            #expect(try RealtimeEvent.parse(event.json) == event)
        }
        #expect(RealtimeEvent.speechStart(timestamp: 1.5).json == #"{"timestamp":1.5,"type":"vad.speech_start"}"#)
    }

    @Test func settingsRefuseOutOfRangeValuesNamingTheParameter() {
        #expect(throws: InvalidSessionParameter("sample_rate", "must be a whole number from 8000 to 48000")) {
            try SessionSettings(query: ["sample_rate": "4000"], sessionID: "s")
        }
        #expect(throws: InvalidSessionParameter.self) { try SessionSettings(query: ["encoding": "mp3"], sessionID: "s") }
        #expect(throws: InvalidSessionParameter.self) { try SessionSettings(query: ["enable_vad": "perhaps"], sessionID: "s") }
        #expect(throws: InvalidSessionParameter.self) { try SessionSettings(query: ["vad_threshold": "nan"], sessionID: "s") }
        let settings = try? SessionSettings(query: ["sample_rate": "8000", "encoding": "mulaw", "word_timestamps": "true"], sessionID: "s")
        #expect(settings?.sampleRate == 8000)
        #expect(settings?.encoding == .mulaw)
    }
}
