import DalstonPipeline
import Hummingbird

/// ElevenLabs' answer for `use_multi_channel=true`: a transcript per channel in `transcripts`
/// (each with its `channel_index`, its words' `speaker_id` the channel's speaker).
struct ElevenLabsMultichannelResponse: Encodable {
    let transcripts: [ElevenLabsTranscriptResponse]
    let transcriptionID: String
    let audioDurationSecs: Double

    enum CodingKeys: String, CodingKey {
        case transcripts
        case transcriptionID = "transcription_id"
        case audioDurationSecs = "audio_duration_secs"
    }
}

/// What a conversion or a transcript fetch returns: one transcript, or one per channel.
enum ElevenLabsTranscriptResult: ResponseEncodable {
    case single(ElevenLabsTranscriptResponse)
    case multichannel(ElevenLabsMultichannelResponse)

    /// The job's transcript as the request asked for it: per channel unless the job was
    /// transcribed as one channel or asked for `multichannel_output_style=combined`.
    init(_ job: JobView, transcript: Transcript, formats: [ElevenLabsOptions.AdditionalFormat]) {
        let withWords = job.timestampsGranularity != "none"
        guard let channels = transcript.channels, job.channelOutput != ElevenLabsOptions.combinedChannels else {
            self = .single(ElevenLabsTranscriptResponse(
                id: job.id, transcript: transcript, withWords: withWords, additionalFormats: formats.map { $0.render(transcript, id: job.id) }))
            return
        }
        self = .multichannel(ElevenLabsMultichannelResponse(
            transcripts: channels.map { channel in
                let heard = transcript.channel(channel)
                return ElevenLabsTranscriptResponse(
                    id: nil, transcript: heard, withWords: withWords,
                    additionalFormats: formats.map { $0.render(heard, id: "\(job.id)_channel_\(channel.channel)") }, channelIndex: channel.channel)
            },
            transcriptionID: job.id, audioDurationSecs: transcript.duration))
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .single(let transcript): try transcript.encode(to: encoder)
        case .multichannel(let transcripts): try transcripts.encode(to: encoder)
        }
    }
}
