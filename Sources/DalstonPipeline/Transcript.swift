import Foundation

/// Words and segments as engines pass them on and the API returns them.
package struct TranscriptWord: Sendable, Codable, Equatable {
    package var text: String
    package var start: Double
    package var end: Double
    package var confidence: Double?
    /// Who said it (`SPEAKER_00`…), when the job was diarized or transcribed per channel.
    package var speaker: String?
    /// The channel it was heard on (0 is the first), when the job was transcribed per channel.
    package var channel: Int?

    package init(text: String, start: Double, end: Double, confidence: Double? = nil, speaker: String? = nil, channel: Int? = nil) {
        self.text = text
        self.start = start
        self.end = end
        self.confidence = confidence
        self.speaker = speaker
        self.channel = channel
    }
}

package struct TranscriptSegment: Sendable, Codable, Equatable {
    package var id: Int
    package var start: Double
    package var end: Double
    package var text: String
    /// What a Whisper-class recogniser says of its decoding (nil from recognisers that do not):
    /// the mean token log-probability, the text's gzip compression ratio (high: repetition), the
    /// probability that the segment is silence, and the temperature of the decode it kept.
    package var avgLogprob: Double?
    package var compressionRatio: Double?
    package var noSpeechProb: Double?
    package var temperature: Double?
    /// Who said it, when the job was diarized (a segment never spans two speakers).
    package var speaker: String?
    /// The channel it was heard on, when the job was transcribed per channel.
    package var channel: Int?

    package init(
        id: Int, start: Double, end: Double, text: String, avgLogprob: Double? = nil, compressionRatio: Double? = nil,
        noSpeechProb: Double? = nil, temperature: Double? = nil, speaker: String? = nil
    ) {
        self.id = id
        self.start = start
        self.end = end
        self.text = text
        self.avgLogprob = avgLogprob
        self.compressionRatio = compressionRatio
        self.noSpeechProb = noSpeechProb
        self.temperature = temperature
        self.speaker = speaker
    }

    enum CodingKeys: String, CodingKey {
        case id, start, end, text, temperature, speaker, channel
        case avgLogprob = "avg_logprob"
        case compressionRatio = "compression_ratio"
        case noSpeechProb = "no_speech_prob"
    }
}

/// The final result of a job (`result.json`).
package struct Transcript: Sendable, Codable, Equatable {
    package var text: String
    package var languageCode: String
    package var duration: Double
    package var segments: [TranscriptSegment]
    package var words: [TranscriptWord]
    /// How sure the recogniser was of `languageCode` when it detected it (nil when it was given).
    package var languageProbability: Double?
    /// `transcribe`, or `translate` when the text is an English translation.
    package var task: String?
    /// The speakers found, in order of first appearance (nil: the job was not diarized).
    package var speakers: [String]?
    /// The names of speakers recognised from reference clips (`SPEAKER_01` → `agent`), when the
    /// job named known speakers; the others keep their labels.
    package var speakerNames: [String: String]?
    /// Each channel's language, in channel order, when the job was transcribed per channel
    /// (its words and segments carry `channel`; channel N's speaker is `SPEAKER_0N`).
    package var channels: [TranscriptChannel]?

    package init(
        text: String, languageCode: String, duration: Double, segments: [TranscriptSegment], words: [TranscriptWord],
        languageProbability: Double? = nil, task: String? = nil
    ) {
        self.text = text
        self.languageCode = languageCode
        self.duration = duration
        self.segments = segments
        self.words = words
        self.languageProbability = languageProbability
        self.task = task
    }

    /// How people should see `speaker`: its known name, or `Speaker N` for `SPEAKER_0N-1`.
    package func label(of speaker: String) -> String {
        speakerNames?[speaker] ?? SpeakerLabel.displayName(speaker)
    }

    /// The text of `segments`, the empty ones left out.
    package static func text(of segments: [TranscriptSegment]) -> String {
        segments.map(\.text).filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// The words timed within a segment (a millisecond of slack for rounding at its edges).
    package func words(in segment: TranscriptSegment) -> [TranscriptWord] {
        Self.words(words, in: segment)
    }

    /// Those of `words` timed within `segment` (a millisecond of slack for rounding at its edges).
    package static func words(_ words: [TranscriptWord], in segment: TranscriptSegment) -> [TranscriptWord] {
        words.filter { $0.start >= segment.start - 0.001 && $0.end <= segment.end + 0.001 }
    }

    enum CodingKeys: String, CodingKey {
        case text, duration, segments, words, task, speakers, channels
        case speakerNames = "speaker_names"
        case languageCode = "language_code"
        case languageProbability = "language_probability"
    }

    /// What was heard on one channel of a per-channel transcript, as a transcript of its own
    /// (ElevenLabs returns one per channel).
    package func channel(_ channel: TranscriptChannel) -> Transcript {
        let segments = segments.filter { $0.channel == channel.channel }
        var transcript = Transcript(
            text: Self.text(of: segments), languageCode: channel.languageCode, duration: duration,
            segments: segments, words: words.filter { $0.channel == channel.channel }, languageProbability: channel.languageProbability, task: task)
        transcript.speakers = [channel.speaker]
        return transcript
    }
}

/// One channel of a per-channel transcript: its speaker and what language was heard on it.
package struct TranscriptChannel: Sendable, Codable, Equatable {
    package var channel: Int
    package var speaker: String
    package var languageCode: String
    package var languageProbability: Double?

    package init(channel: Int, languageCode: String, languageProbability: Double?) {
        self.channel = channel
        self.speaker = SpeakerLabel.name(channel)
        self.languageCode = languageCode
        self.languageProbability = languageProbability
    }

    enum CodingKeys: String, CodingKey {
        case channel, speaker
        case languageCode = "language_code"
        case languageProbability = "language_probability"
    }
}

/// The diarizer's speaker labels: `SPEAKER_00`, `SPEAKER_01`… in order of first appearance.
package enum SpeakerLabel {
    /// 0 for `SPEAKER_00`; nil for any other name.
    package static func index(of speaker: String) -> Int? {
        guard speaker.hasPrefix("SPEAKER_") else { return nil }
        return Int(speaker.dropFirst("SPEAKER_".count))
    }

    /// `Speaker 1` for `SPEAKER_00`; any other name as it is.
    package static func displayName(_ speaker: String) -> String {
        index(of: speaker).map { "Speaker \($0 + 1)" } ?? speaker
    }

    /// `SPEAKER_00` for 0.
    package static func name(_ index: Int) -> String {
        index < 10 ? "SPEAKER_0\(index)" : "SPEAKER_\(index)"
    }
}
