@testable import DalstonGateway
import DalstonModels
import DalstonPipeline
import DalstonRealtime
import DalstonSessionRouter
import Foundation
import Testing

/// How each API's model names resolve to what runs, and the errors that say what to install.
@Suite("Model catalogue")
struct ModelCatalogueTests {
    static func whisper(_ id: String, multilingual: Bool) -> ModelInfo {
        ModelInfo(
            id: id, name: id, runner: ModelInfo.fasterWhisper, engine: ModelInfo.fasterWhisper, multilingual: multilingual,
            languages: multilingual ? ["de", "en", "es"] : ["en"], translates: multilingual, wordTimestamps: true)
    }

    static let englishOnly = ModelCatalogue(registry: ModelRegistry(directory: nil, builtIn: [ModelCatalogue.pocketSphinx, whisper("faster-whisper-tiny.en", multilingual: false)]))
    static let both = ModelCatalogue(registry: ModelRegistry(
        directory: nil, builtIn: [ModelCatalogue.pocketSphinx, whisper("faster-whisper-tiny.en", multilingual: false), whisper("faster-whisper-base", multilingual: true)]))

    @Test func everyAPIsNamesResolveToTheDefaultModel() throws {
        for (name, api) in [("whisper-1", ModelCatalogue.API.openai), ("gpt-4o-mini-transcribe", .openai), ("scribe_v1", .elevenlabs), ("auto", .dalston)] {
            #expect(try Self.both.resolve(name, api: api, language: nil, param: "model").id == "faster-whisper-tiny.en", "\(name)")
        }
        #expect(try Self.both.resolve("whisper-1", api: .openai, language: "es", param: "model").id == "faster-whisper-base")
        #expect(try Self.both.resolve("whisper-1", api: .openai, language: nil, translating: true, param: "model").id == "faster-whisper-base")
        #expect(try Self.both.resolve("pocketsphinx-en-us", api: .openai, language: "en", param: "model").engine == EngineKind.transcribe)
        #expect(!Self.both.isAlias("scribe_v1", of: .openai), "an alias belongs to one API")
    }

    /// A live session's model: each dialect's names and none mean the default for its language;
    /// installed ids pick; what is not installed, or lacks the language, is refused by code.
    @Test func liveSessionsResolveTheirModelLikeBatchRequests() throws {
        func live(_ model: String, _ language: String = "auto", _ kind: RealtimeProtocol = .native) -> Result<String, RealtimeError> {
            var settings = SessionSettings(sessionID: "s")
            settings.model = model
            settings.language = language
            return Self.both.liveModel(for: settings, protocol: kind)
        }
        #expect(try live("").get() == "faster-whisper-tiny.en")
        #expect(try live("auto").get() == "faster-whisper-tiny.en")
        #expect(try live("", "es", .elevenlabs).get() == "faster-whisper-base", "the default that serves the language")
        #expect(try live("pocketsphinx-en-us", "en-US", .openai).get() == "pocketsphinx-en-us")
        guard case .failure(let missing) = live("faster-whisper-large-v3", "auto", .elevenlabs) else { Issue.record("a missing model was accepted"); return }
        #expect(missing.code == "model_not_available" && missing.message.contains("dalston models pull") && !missing.recoverable)
        guard case .failure(let language) = live("faster-whisper-tiny.en", "fr") else { Issue.record("English-only Whisper took French"); return }
        #expect(language.code == "language_not_supported")
        guard case .failure(let nowhere) = Self.englishOnly.liveModel(for: { var s = SessionSettings(sessionID: "s"); s.language = "de"; return s }(), protocol: .native)
        else { Issue.record("a language no model has was accepted"); return }
        #expect(nowhere.code == "language_not_supported")
    }

    @Test func theErrorsSayWhatToSendOrInstall() {
        #expect(throws: APIError.self) { try Self.both.resolve("scribe_v1", api: .openai, language: nil, param: "model") }
        do {
            _ = try Self.both.resolve("Systran/faster-whisper-small", api: .dalston, language: nil, param: "model")
            Issue.record("a model that is not installed resolved")
        } catch {
            #expect(error.message.contains("dalston models pull Systran/faster-whisper-small") && error.param == "model")
        }
        do {
            _ = try Self.englishOnly.resolve("whisper-1", api: .openai, language: nil, translating: true, param: "model")
            Issue.record("translation resolved without a multilingual model")
        } catch {
            #expect(error.message.contains("translates"))
        }
        do {
            _ = try Self.englishOnly.resolve("faster-whisper-tiny.en", api: .elevenlabs, language: "de", param: "model_id", languageParam: "language_code")
            Issue.record("German resolved on an English-only model")
        } catch {
            #expect(error.param == "language_code" && error.message.hasPrefix("language_code de is not available"))
        }
    }

    @Test func aSubmissionRecordsTheModelItsEngineAndWhetherToDetectTheLanguage() {
        var submission = JobSubmission(audio: [], filename: "a.wav", requestID: "req_1")
        submission.use(Self.whisper("faster-whisper-base", multilingual: true), language: nil)
        #expect(submission.modelID == "faster-whisper-base" && submission.recognizer == EngineKind.whisper && submission.language == "auto")
        submission.use(Self.whisper("faster-whisper-tiny.en", multilingual: false), language: nil)
        #expect(submission.language == "en")
        submission.use(ModelCatalogue.pocketSphinx, language: "en")
        #expect(submission.recognizer == nil && submission.modelID == "pocketsphinx-en-us", "PocketSphinx runs on the transcribe engine")
    }
}
