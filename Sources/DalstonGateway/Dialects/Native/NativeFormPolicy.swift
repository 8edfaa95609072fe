extension FormPolicy {
    /// Dalston's native `POST /v1/audio/transcriptions`.
    static let native = FormPolicy(
        honoured: [
            "language", "model", "model_id", "timestamps_granularity", "display_name", "webhook_url", "webhook_metadata", "retention",
            "prompt", "initial_prompt", "hotwords", "temperature",
        ],
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
}
