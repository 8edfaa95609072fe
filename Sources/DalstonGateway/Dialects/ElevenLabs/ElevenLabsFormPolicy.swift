extension FormPolicy {
    /// ElevenLabs' `POST /v1/speech-to-text`.
    static let elevenLabs = FormPolicy(
        honoured: [
            "model_id", "language_code", "timestamps_granularity", "additional_formats", "webhook", "temperature", "seed", "diarize", "num_speakers",
            "use_multi_channel", "multichannel_output_style", "cloud_storage_url",
        ],
        checks: [
            "diarization_threshold": never("diarization_threshold is set for the deployment (DALSTON_DIARIZE_THRESHOLD), not per request"),
            "tag_audio_events": onlyOff("audio event tagging is not available on this deployment"),
            "keyterms": never("key-term hints are not supported by the PocketSphinx recogniser"),
            "entity_detection": never(noPII),
            "webhook_id": never("webhook configurations are not available yet; webhook=true acknowledges at once and the transcript is fetched with GET /v1/speech-to-text/transcripts/{id}"),
            "webhook_metadata": never("webhook metadata needs webhook configurations, which are not available yet"),
            "file_format": oneOf(["other"], "only file_format=other (an encoded audio file) is supported"),
            "entity_redaction": never(noPII), "entity_redaction_mode": never(noPII),
            "source_url": never(noURLInput),
            "no_verbatim": onlyOff("verbatim control is not available on this deployment"),
            "numbers_format": never("number formatting options are not available on this deployment"),
            "transcript_edit": never("transcript editing options are not available on this deployment"),
            "use_speaker_library": onlyOff(noDiarization), "detect_speaker_roles": onlyOff(noDiarization),
        ])
}
