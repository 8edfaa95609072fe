@testable import DalstonGateway
import DalstonModels
import DalstonPipeline
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
