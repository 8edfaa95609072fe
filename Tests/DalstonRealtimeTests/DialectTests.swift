import Foundation
import Testing

@testable import DalstonRealtime

func jsonObject(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

let sampleFinal = FinalTranscript(
    text: "hello world", start: 1, end: 2, confidence: 0.9,
    words: [RealtimeWord(word: "hello", start: 1, end: 1.4, confidence: 0.9), RealtimeWord(word: "world", start: 1.5, end: 2, confidence: 0.8)])

@Suite("ElevenLabs realtime dialect")
struct ElevenLabsDialectTests {
    @Test func theSDKsQueryOpensASessionAndUnknownNamesAreIgnored() throws {
        let (settings, _) = try ElevenLabsDialect.open(query: [
            "model_id": "scribe_v2_realtime", "audio_format": "ulaw_8000", "commit_strategy": "vad", "include_timestamps": "true",
            "vad_silence_threshold_secs": "0.8", "keyterms": "dalston", "enable_logging": "true",
        ], sessionID: "sess_1")
        #expect(settings.encoding == .mulaw)
        #expect(settings.sampleRate == 8000)
        #expect(settings.enableVAD)
        #expect(settings.wordTimestamps)
        #expect(settings.vad.minSilenceMilliseconds == 800)
        let (manual, _) = try ElevenLabsDialect.open(query: [:], sessionID: "sess_2")
        #expect(!manual.enableVAD, "manual commits by default: no VAD segmentation")
        #expect(manual.sampleRate == 16000)
    }

    @Test(arguments: [["model_id": ""], ["audio_format": "mp3_44100"], ["commit_strategy": "sometimes"], ["vad_silence_threshold_secs": "-1"]])
    func badParametersAreRefused(_ query: [String: String]) {
        #expect(throws: InvalidSessionParameter.self) { try ElevenLabsDialect.open(query: query, sessionID: "s") }
    }

    /// ElevenLabs' own model names mean the default (no model for the worker); another name is
    /// passed on for the gateway to resolve against what is installed.
    @Test func modelIDsAreThisAPIsNamesOrInstalledModels() throws {
        #expect(try ElevenLabsDialect.open(query: ["model_id": "scribe_v2_realtime"], sessionID: "s").0.model == "")
        #expect(try ElevenLabsDialect.open(query: ["model_id": "pocketsphinx-en-us"], sessionID: "s").0.model == "pocketsphinx-en-us")
        #expect(try OpenAIDialect.open(query: ["model": "gpt-4o-transcribe"], sessionID: "s").0.model == "")
        #expect(try OpenAIDialect.open(query: ["model": "faster-whisper-base"], sessionID: "s").0.model == "faster-whisper-base")
    }

    @Test func chunksCommitsAndCloseBecomeWorkerCommands() throws {
        var (_, dialect) = try ElevenLabsDialect.open(query: [:], sessionID: "s")
        let audio = Data([1, 2, 3, 4]).base64EncodedString()
        #expect(dialect.clientText(#"{"message_type":"input_audio_chunk","audio_base_64":"\#(audio)","commit":false,"sample_rate":16000}"#).toWorker == [.audio([1, 2, 3, 4])])
        // The original treated commit as an unknown message; here it is the final of the audio so far.
        #expect(dialect.clientText(#"{"message_type":"input_audio_chunk","audio_base_64":"","commit":true}"#).toWorker == [.control(.flush)])
        #expect(dialect.clientText(#"{"message_type":"close_stream"}"#).toWorker == [.control(.end)])
        let bad = dialect.clientText(#"{"message_type":"input_audio_chunk","audio_base_64":"@@@"}"#)
        #expect(bad.toWorker.isEmpty)
        #expect(jsonObject(bad.toClient[0])["message_type"] as? String == "input_error")
        #expect(jsonObject(dialect.clientText("nope").toClient[0])["message_type"] as? String == "input_error")
        // The audio missing, null or a number is the client's mistake, said, never ignored.
        for chunk in [#"{"message_type":"input_audio_chunk","commit":false}"#, #"{"message_type":"input_audio_chunk","audio_base_64":null}"#,
                      #"{"message_type":"input_audio_chunk","audio_base_64":42,"commit":true}"#] {
            let refused = dialect.clientText(chunk)
            #expect(refused.toWorker.isEmpty, "\(chunk)")
            #expect(jsonObject(refused.toClient.first ?? "{}")["message_type"] as? String == "input_error", "\(chunk)")
            #expect((jsonObject(refused.toClient.first ?? "{}")["error"] as? String)?.contains("audio_base_64") == true, "\(chunk)")
        }
    }

    @Test func eventsBecomeTheSDKsMessages() throws {
        var (_, plain) = try ElevenLabsDialect.open(query: ["language_code": "en"], sessionID: "s")
        let started = jsonObject(plain.workerEvent(.sessionBegin(sessionID: "sess_1", config: SessionBeginConfig(sampleRate: 16000, encoding: "pcm_s16le", language: "en", model: nil)))[0])
        #expect(started["message_type"] as? String == "session_started")
        #expect(started["session_id"] as? String == "sess_1")
        #expect((started["config"] as? [String: Any])?["model_id"] as? String == "scribe_v1")
        #expect(jsonObject(plain.workerEvent(.partial(TranscriptPiece(text: "hel", start: 0, end: 1)))[0])["text"] as? String == "hel")
        let committed = jsonObject(plain.workerEvent(.final(sampleFinal))[0])
        #expect(committed["message_type"] as? String == "committed_transcript")
        #expect(committed["text"] as? String == "hello world")
        #expect(plain.workerEvent(.speechStart(timestamp: 1)).isEmpty)

        var (_, timed) = try ElevenLabsDialect.open(query: ["include_timestamps": "true"], sessionID: "s")
        let withTimes = jsonObject(timed.workerEvent(.final(sampleFinal))[0])
        #expect(withTimes["message_type"] as? String == "committed_transcript_with_timestamps")
        let words = withTimes["words"] as? [[String: Any]] ?? []
        #expect(words.map { $0["type"] as? String } == ["word", "spacing", "word"])
        #expect(words.map { $0["text"] as? String } == ["hello", " ", "world"])
        #expect(words[1]["start"] as? Double == 1.4)
    }
}

@Suite("OpenAI realtime dialect")
struct OpenAIDialectTests {
    @Test func theSessionIsPCM16At24kHzWithServerVAD() throws {
        let (settings, dialect) = try OpenAIDialect.open(query: ["intent": "transcription", "model": "gpt-4o-transcribe"], sessionID: "sess_1")
        #expect(settings.sampleRate == 24_000)
        #expect(settings.enableVAD)
        let created = jsonObject(dialect.created())
        #expect(created["type"] as? String == "transcription_session.created")
        #expect((created["event_id"] as? String)?.hasPrefix("evt_") == true)
        let session = created["session"] as? [String: Any] ?? [:]
        #expect(session["input_audio_format"] as? String == "pcm16")
        #expect((session["turn_detection"] as? [String: Any])?["type"] as? String == "server_vad")
        #expect(throws: InvalidSessionParameter.self) { try OpenAIDialect.open(query: ["intent": "conversation"], sessionID: "s") }
        #expect(throws: InvalidSessionParameter.self) { try OpenAIDialect.open(query: ["model": ""], sessionID: "s") }
    }

    @Test func serverVADItemsGetTheirDeltasAndTranscripts() throws {
        var (_, dialect) = try OpenAIDialect.open(query: [:], sessionID: "s")
        let audio = Data([9, 8]).base64EncodedString()
        #expect(dialect.clientText(#"{"type":"input_audio_buffer.append","audio":"\#(audio)"}"#).toWorker == [.audio([9, 8])])
        let started = jsonObject(dialect.workerEvent(.speechStart(timestamp: 0.5))[0])
        let item = try #require(started["item_id"] as? String)
        #expect(started["audio_start_ms"] as? Int == 500)
        let first = jsonObject(dialect.workerEvent(.partial(TranscriptPiece(text: "hello", start: 0, end: 1)))[0])
        #expect(first["delta"] as? String == "hello")
        let second = jsonObject(dialect.workerEvent(.partial(TranscriptPiece(text: "hello world", start: 0, end: 1)))[0])
        #expect(second["delta"] as? String == " world", "deltas are increments")
        #expect(dialect.workerEvent(.partial(TranscriptPiece(text: "yellow", start: 0, end: 1))).isEmpty, "a revision waits for the transcript")
        let stopped = dialect.workerEvent(.speechEnd(timestamp: 2))
        #expect(stopped.map { jsonObject($0)["type"] as? String } == ["input_audio_buffer.speech_stopped", "input_audio_buffer.committed"])
        #expect(jsonObject(stopped[1])["item_id"] as? String == item)
        #expect(jsonObject(stopped[1])["previous_item_id"] is NSNull, "the first item follows none: null, not absent")
        #expect((jsonObject(stopped[1])["event_id"] as? String)?.hasPrefix("evt_") == true)
        let completed = jsonObject(dialect.workerEvent(.final(sampleFinal))[0])
        #expect(completed["type"] as? String == "conversation.item.input_audio_transcription.completed")
        #expect(completed["item_id"] as? String == item)
        #expect(completed["transcript"] as? String == "hello world")
        // The next speech is a new item, which follows the first.
        let next = jsonObject(dialect.workerEvent(.speechStart(timestamp: 3))[0])
        #expect(next["item_id"] as? String != item)
        let committed = jsonObject(dialect.clientText(#"{"type":"input_audio_buffer.commit"}"#).toClient[0])
        #expect(committed["previous_item_id"] as? String == item)
    }

    @Test func sessionUpdatesInEveryFormReachTheWorker() throws {
        var (_, dialect) = try OpenAIDialect.open(query: [:], sessionID: "s")
        let flat = dialect.clientText(#"{"type":"transcription_session.update","session":{"input_audio_transcription":{"model":"gpt-4o-transcribe","language":"en"},"turn_detection":{"type":"server_vad","threshold":0.6,"silence_duration_ms":700}}}"#)
        #expect(flat.toWorker == [.control(.config(["language": "en", "vad_threshold": "0.6", "min_silence_duration_ms": "700", "enable_vad": "true"]))])
        #expect(jsonObject(flat.toClient[0])["type"] as? String == "transcription_session.updated")
        let ga = dialect.clientText(#"{"type":"session.update","session":{"audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"turn_detection":null}}}}"#)
        #expect(ga.toWorker == [.control(.config(["enable_vad": "false"]))])
        #expect(jsonObject(ga.toClient[0])["type"] as? String == "session.updated")
        let session = try #require(jsonObject(ga.toClient[0])["session"] as? [String: Any])
        #expect(session["turn_detection"] is NSNull && session["input_audio_noise_reduction"] is NSNull, "null, not absent: \(session)")
        #expect((session["input_audio_transcription"] as? [String: Any])?["language"] as? String == "en")
        // Flat, without `session`, as older SDKs send it.
        let older = dialect.clientText(#"{"type":"transcription_session.update","turn_detection":{"type":"server_vad","prefix_padding_ms":200}}"#)
        #expect(older.toWorker == [.control(.config(["prefix_padding_ms": "200", "enable_vad": "true"]))])
        // An installed model's id switches the worker's model; OpenAI's names leave it.
        let model = dialect.clientText(#"{"type":"transcription_session.update","session":{"input_audio_transcription":{"model":"pocketsphinx-en-us"}}}"#)
        #expect(model.toWorker == [.control(.config(["model": "pocketsphinx-en-us"]))])
        #expect(((jsonObject(model.toClient[0])["session"] as? [String: Any])?["input_audio_transcription"] as? [String: Any])?["model"] as? String == "pocketsphinx-en-us")
        let unsupported = dialect.clientText(#"{"type":"session.update","session":{"input_audio_format":"g711_ulaw"}}"#)
        #expect(unsupported.toWorker.isEmpty)
        #expect((jsonObject(unsupported.toClient[0])["error"] as? [String: Any])?["code"] as? String == "unsupported_audio_format")
    }

    @Test func badEventsAreErrorsInOpenAIsShape() throws {
        var (_, dialect) = try OpenAIDialect.open(query: [:], sessionID: "s")
        for text in ["{", #"{"type":"input_audio_buffer.append","audio":"!!"}"#, #"{"type":"response.create"}"#] {
            let output = dialect.clientText(text)
            #expect(output.toWorker.isEmpty)
            let error = jsonObject(output.toClient[0])
            #expect(error["type"] as? String == "error")
            #expect((error["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
        }
    }
}

@Suite("Native realtime dialect")
struct NativeDialectTests {
    @Test func controlPassesAndBadTextIsARecoverableError() throws {
        var dialect = NativeDialect()
        #expect(dialect.clientText(#"{"type":"flush"}"#).toWorker == [.control(.flush)])
        let error = dialect.clientText("hello?")
        #expect(error.toWorker.isEmpty)
        #expect(jsonObject(error.toClient[0])["code"] as? String == "invalid_message")
        #expect(jsonObject(error.toClient[0])["recoverable"] as? Bool == true)
        #expect(dialect.clientBinary([1, 2]).toWorker == [.audio([1, 2])])
        let settings = try NativeDialect.settings(query: ["sample_rate": "48000", "api_key": "secret", "session_id": "forged"], sessionID: "sess_1")
        #expect(settings.sampleRate == 48000)
        #expect(settings.sessionID == "sess_1", "the client cannot choose the session id")
        #expect(!settings.query.contains { $0.0 == "api_key" }, "the key never goes to the worker")
    }
}
