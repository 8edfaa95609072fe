extension FormPolicy {
    /// OpenAI's `POST /v1/audio/transcriptions` (a request naming an OpenAI model).
    static let openAI = FormPolicy(
        honoured: [
            "model", "language", "prompt", "temperature", "response_format", "timestamp_granularities[]", "timestamp_granularities",
            "known_speaker_names[]", "known_speaker_references[]", "known_speaker_names", "known_speaker_references",
        ],
        checks: [
            "stream": onlyOff("streamed responses are not supported; send stream=false"),
            "include[]": never("include (logprobs) is not supported"),
            "chunking_strategy": oneOf(["auto"], "chunking_strategy must be auto"),
        ])

    /// OpenAI's `POST /v1/audio/translations`: no language (the output is English).
    static let openAITranslation = FormPolicy(
        honoured: ["model", "prompt", "temperature", "response_format"],
        checks: [:])
}
