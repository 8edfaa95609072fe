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
        /// `speaker_0`…, when the request asked to diarize or for a transcript per channel.
        var speakerID: String?
        /// The channel it was heard on, when the request asked for a transcript per channel.
        var channelIndex: Int?

        /// ElevenLabs' names: `speaker_0` for `SPEAKER_00`.
        static func speakerID(_ speaker: String?) -> String? {
            speaker.map { speaker in SpeakerLabel.index(of: speaker).map { "speaker_\($0)" } ?? speaker }
        }

        enum CodingKeys: String, CodingKey {
            case text, start, end, type, logprob
            case speakerID = "speaker_id"
            case channelIndex = "channel_index"
        }
    }

    /// One of the requested `additional_formats`, inline.
    struct AdditionalFormat: Encodable {
        let requestedFormat: String
        let fileExtension: String
        let contentType: String
        var isBase64Encoded = false
        let content: String

        enum CodingKeys: String, CodingKey {
            case content
            case requestedFormat = "requested_format"
            case fileExtension = "file_extension"
            case contentType = "content_type"
            case isBase64Encoded = "is_base64_encoded"
        }
    }

    let languageCode: String
    let languageProbability: Double
    let text: String
    let words: [Word]
    let transcriptionID: String?
    let additionalFormats: [AdditionalFormat]?
    /// Which channel this is, in a multichannel response's `transcripts`.
    let channelIndex: Int?

    /// `withWords`: false for `timestamps_granularity=none` (the text alone, `words` empty).
    /// `id` is nil for the per-channel transcripts inside a multichannel response.
    init(id: String?, transcript: Transcript, withWords: Bool = true, additionalFormats: [AdditionalFormat] = [], channelIndex: Int? = nil) {
        var words: [Word] = []
        for (index, word) in (withWords ? transcript.words : []).enumerated() {
            if index > 0 {
                let previous = transcript.words[index - 1]
                words.append(Word(
                    text: " ", start: previous.end, end: word.start, type: "spacing", logprob: 0, speakerID: Word.speakerID(previous.speaker),
                    channelIndex: previous.channel))
            }
            words.append(Word(
                text: word.text, start: word.start, end: word.end, type: "word", logprob: log(max(word.confidence ?? 1, 1e-6)),
                speakerID: Word.speakerID(word.speaker), channelIndex: word.channel))
        }
        self.languageCode = transcript.languageCode
        // The detected language's probability; a language the request gave is certain.
        self.languageProbability = transcript.languageProbability ?? 1
        self.text = transcript.text
        self.words = words
        self.transcriptionID = id
        self.additionalFormats = additionalFormats.isEmpty ? nil : additionalFormats
        self.channelIndex = channelIndex
    }

    enum CodingKeys: String, CodingKey {
        case text, words
        case languageCode = "language_code"
        case languageProbability = "language_probability"
        case transcriptionID = "transcription_id"
        case additionalFormats = "additional_formats"
        case channelIndex = "channel_index"
    }
}

/// `webhook=true`: accepted, the transcript comes later.
struct ElevenLabsWebhookAcknowledgement: ResponseEncodable {
    var message = "Request accepted; the transcript will be available at /v1/speech-to-text/transcripts/{transcription_id}"
    let requestID: String
    let transcriptionID: String

    init(requestID: String, transcriptionID: String) {
        self.requestID = requestID
        self.transcriptionID = transcriptionID
        message = "Request accepted; fetch the transcript from /v1/speech-to-text/transcripts/\(transcriptionID)"
    }

    enum CodingKeys: String, CodingKey {
        case message
        case requestID = "request_id"
        case transcriptionID = "transcription_id"
    }
}
