import DalstonPipeline
import Foundation
import Hummingbird

/// ElevenLabs' speech-to-text response: `{language_code, language_probability, text, words:
/// [{text, start, end, type, logprob}], transcription_id}`, with `spacing` entries between words
/// as ElevenLabs returns them.
struct ElevenLabsTranscriptResponse: ResponseEncodable {
    struct Word: Encodable {
        let text: String
        let start: Double
        let end: Double
        let type: String
        let logprob: Double
    }

    let languageCode: String
    let languageProbability: Double
    let text: String
    let words: [Word]
    let transcriptionID: String

    init(id: String, transcript: Transcript) {
        var words: [Word] = []
        for (index, word) in transcript.words.enumerated() {
            if index > 0 {
                let previous = transcript.words[index - 1]
                words.append(Word(text: " ", start: previous.end, end: word.start, type: "spacing", logprob: 0))
            }
            words.append(Word(text: word.text, start: word.start, end: word.end, type: "word", logprob: log(max(word.confidence ?? 1, 1e-6))))
        }
        self.languageCode = transcript.languageCode
        self.languageProbability = 1
        self.text = transcript.text
        self.words = words
        self.transcriptionID = id
    }

    enum CodingKeys: String, CodingKey {
        case text, words
        case languageCode = "language_code"
        case languageProbability = "language_probability"
        case transcriptionID = "transcription_id"
    }
}
