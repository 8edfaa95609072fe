/// Which form fields an endpoint honours, so that none is silently dropped: a field it does not
/// know is refused by name, and a known field asking for what this deployment cannot do (speaker
/// diarization, PII redaction, ...) is refused with the reason, never accepted and ignored.
struct FormPolicy: Sendable {
    /// A field and what to say when its value asks for something unavailable (nil: the value is fine).
    typealias Check = @Sendable (String) -> String?

    let honoured: Set<String>
    let checks: [String: Check]

    func validate(_ fields: [String: [String]]) throws(APIError) {
        for (name, values) in fields.sorted(by: { $0.key < $1.key }) {
            if let check = checks[name] {
                // SDKs send `null` (or nothing) for options the caller did not set.
                for value in values where !["", "null"].contains(value.trimmed) {
                    if let refusal = check(value) { throw APIError.unsupported(name, "\(name): \(refusal)") }
                }
            } else if !honoured.contains(name) {
                let known = honoured.sorted().joined(separator: ", ")
                throw APIError.unsupported(name, "unknown field \"\(String(name.prefix(64)))\"; this endpoint takes file, \(known)")
            }
        }
    }

    /// Refused whatever the value: the feature does not exist here.
    static func never(_ reason: String) -> Check { { _ in reason } }

    /// Fine while off (`false`, `0`, `none`, empty).
    static func onlyOff(_ reason: String) -> Check {
        { value in ["", "false", "0", "none", "off", "no"].contains(value.trimmed.lowercased()) ? nil : reason }
    }

    /// Fine for one of `allowed` (compared case-insensitively).
    static func oneOf(_ allowed: Set<String>, _ reason: String) -> Check {
        { value in allowed.contains(value.trimmed.lowercased()) ? nil : reason }
    }

    static let noDiarization = "speaker diarization is not available on this deployment (no diarization engine is installed)"
    static let noPII = "PII detection and redaction are not available on this deployment"
    static let noURLInput = "fetching audio from a URL is not supported; upload the audio as the file field"

    /// Dalston's native `POST /v1/audio/transcriptions`.
    static let native = FormPolicy(
        honoured: ["language", "model", "model_id", "timestamps_granularity", "display_name", "webhook_url", "webhook_metadata", "retention"],
        checks: [
            "speaker_detection": onlyOff(noDiarization), "num_speakers": never(noDiarization), "min_speakers": never(noDiarization),
            "max_speakers": never(noDiarization), "model_diarize": never(noDiarization), "diarization_threshold": never(noDiarization),
            "pii_detection": onlyOff(noPII), "pii_entity_types": never(noPII), "redact_pii_audio": onlyOff(noPII), "pii_redaction_mode": never(noPII),
            "model_pii_detect": never(noPII), "model_align": never("a separate alignment model is not available; words carry the recogniser's times"),
            "vocabulary": never("vocabulary hints are not supported by the PocketSphinx recogniser"),
            "keyterms": never("key-term hints are not supported by the PocketSphinx recogniser"),
            "prompt": never("prompts are not supported by the PocketSphinx recogniser"),
            "temperature": oneOf(["0", "0.0"], "the recogniser is deterministic; temperature must be 0"),
            "audio_url": never(noURLInput),
            "lite_profile": never("lite profiles are not available on this deployment"),
        ])

    /// OpenAI's `POST /v1/audio/transcriptions` (a request naming an OpenAI model).
    static let openAI = FormPolicy(
        honoured: ["model", "language", "prompt", "temperature", "response_format", "timestamp_granularities[]", "timestamp_granularities"],
        checks: [
            "stream": onlyOff("streamed responses are not supported; send stream=false"),
            "include[]": never("include (logprobs) is not supported"),
            "chunking_strategy": oneOf(["auto"], "chunking_strategy must be auto"),
            "known_speaker_names[]": never(noDiarization), "known_speaker_references[]": never(noDiarization),
        ])

    /// ElevenLabs' `POST /v1/speech-to-text`.
    static let elevenLabs = FormPolicy(
        honoured: ["model_id", "language_code", "timestamps_granularity", "additional_formats", "webhook", "temperature", "seed"],
        checks: [
            "diarize": onlyOff(noDiarization), "num_speakers": never(noDiarization), "diarization_threshold": never(noDiarization),
            "use_multi_channel": onlyOff("multichannel transcription is not supported; send one mixed channel"),
            "tag_audio_events": onlyOff("audio event tagging is not available on this deployment"),
            "keyterms": never("key-term hints are not supported by the PocketSphinx recogniser"),
            "entity_detection": never(noPII), "cloud_storage_url": never(noURLInput),
            "webhook_id": never("webhook configurations are not available yet; webhook=true acknowledges at once and the transcript is fetched with GET /v1/speech-to-text/transcripts/{id}"),
            "webhook_metadata": never("webhook metadata needs webhook configurations, which are not available yet"),
            "file_format": oneOf(["other"], "only file_format=other (an encoded audio file) is supported"),
            "entity_redaction": never(noPII), "entity_redaction_mode": never(noPII),
            "source_url": never(noURLInput),
            "no_verbatim": onlyOff("verbatim control is not available on this deployment"),
            "numbers_format": never("number formatting options are not available on this deployment"),
            "transcript_edit": never("transcript editing options are not available on this deployment"),
            "multichannel_output_style": never("multichannel transcription is not supported; send one mixed channel"),
            "use_speaker_library": onlyOff(noDiarization), "detect_speaker_roles": onlyOff(noDiarization),
        ])
}
