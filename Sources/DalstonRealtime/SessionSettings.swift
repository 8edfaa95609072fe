/// What one live session was opened with. Built from the worker's query, checked against the
/// ranges a client could get wrong, each refusal naming the parameter and what is allowed.
package struct SessionSettings: Sendable, Equatable {
    package var sessionID: String
    package var language = "auto"
    package var model = ""
    package var encoding = AudioEncoding.pcmS16LE
    /// The client's sample rate; audio is resampled to the recogniser's.
    package var sampleRate = 16_000
    package var enableVAD = true
    package var interimResults = true
    package var wordTimestamps = false
    /// Keep the session's audio (`sessions/<id>/audio.wav`) in the artifact store.
    package var storeAudio = false
    /// Keep the session's transcript (`sessions/<id>/transcript.json`) in the artifact store.
    package var storeTranscript = false
    package var vad = VADSettings()

    package init(sessionID: String) {
        self.sessionID = sessionID
    }

    package static let sampleRates = 8_000...48_000

    /// The query a gateway sends to a worker (and a worker reads back with `init(query:)`).
    package var query: [(String, String)] {
        [
            ("session_id", sessionID), ("language", language), ("model", model), ("encoding", encoding.rawValue),
            ("sample_rate", String(sampleRate)), ("enable_vad", String(enableVAD)), ("interim_results", String(interimResults)),
            ("word_timestamps", String(wordTimestamps)), ("store_audio", String(storeAudio)), ("store_transcript", String(storeTranscript)),
        ] + vad.query
    }

    /// Reads a query; absent values keep their defaults.
    package init(query: [String: String], sessionID: String) throws(InvalidSessionParameter) {
        self.init(sessionID: query["session_id"] ?? sessionID)
        if let value = query["language"], !value.isEmpty { language = value }
        if let value = query["model"] { model = value }
        if let value = query["encoding"] {
            guard let encoding = AudioEncoding(rawValue: value) else {
                throw InvalidSessionParameter("encoding", "must be one of \(AudioEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.encoding = encoding
        }
        sampleRate = try Self.integer(query, "sample_rate", in: Self.sampleRates) ?? sampleRate
        enableVAD = try Self.boolean(query, "enable_vad") ?? enableVAD
        interimResults = try Self.boolean(query, "interim_results") ?? interimResults
        wordTimestamps = try Self.boolean(query, "word_timestamps") ?? wordTimestamps
        storeAudio = try Self.boolean(query, "store_audio") ?? storeAudio
        storeTranscript = try Self.boolean(query, "store_transcript") ?? storeTranscript
        try vad.update(from: query)
    }

    static func integer(_ query: [String: String], _ name: String, in range: ClosedRange<Int>) throws(InvalidSessionParameter) -> Int? {
        guard let text = query[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw InvalidSessionParameter(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func number(_ query: [String: String], _ name: String, in range: ClosedRange<Double>) throws(InvalidSessionParameter) -> Double? {
        guard let text = query[name] else { return nil }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw InvalidSessionParameter(name, "must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func boolean(_ query: [String: String], _ name: String) throws(InvalidSessionParameter) -> Bool? {
        guard let text = query[name] else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw InvalidSessionParameter(name, "must be true or false")
        }
    }
}

/// Voice-activity detection and segmentation, as the client may tune them.
package struct VADSettings: Sendable, Equatable {
    /// Speech probability above which a frame counts as speech (0...1; 0.5 ≈ -40 dBFS).
    package var threshold = 0.5
    /// Silence that ends an utterance.
    package var minSilenceMilliseconds = 400
    /// Utterances with less speech than this are dropped as noise.
    package var minSpeechMilliseconds = 250
    /// Audio kept from before speech began, so the first syllable is not clipped.
    package var prefixPaddingMilliseconds = 300
    /// An utterance longer than this is finalised and a new one begins.
    package var maxUtteranceSeconds = 30

    package init() {}

    var query: [(String, String)] {
        [
            ("vad_threshold", String(threshold)), ("min_silence_duration_ms", String(minSilenceMilliseconds)),
            ("min_speech_duration_ms", String(minSpeechMilliseconds)), ("prefix_padding_ms", String(prefixPaddingMilliseconds)),
            ("max_utterance_duration", String(maxUtteranceSeconds)),
        ]
    }

    /// Applies the names the native protocol and its `config` message use.
    package mutating func update(from values: [String: String]) throws(InvalidSessionParameter) {
        threshold = try SessionSettings.number(values, "vad_threshold", in: 0...1) ?? threshold
        minSilenceMilliseconds = try SessionSettings.integer(values, "min_silence_duration_ms", in: 50...5000) ?? minSilenceMilliseconds
        minSpeechMilliseconds = try SessionSettings.integer(values, "min_speech_duration_ms", in: 50...2000) ?? minSpeechMilliseconds
        prefixPaddingMilliseconds = try SessionSettings.integer(values, "prefix_padding_ms", in: 0...5000) ?? prefixPaddingMilliseconds
        maxUtteranceSeconds = try SessionSettings.integer(values, "max_utterance_duration", in: 1...300) ?? maxUtteranceSeconds
    }
}

/// A session parameter that cannot be used: the client sees `invalid_parameters` and 4400.
package struct InvalidSessionParameter: Error, Sendable, Equatable, CustomStringConvertible {
    package let parameter: String
    package let problem: String

    package init(_ parameter: String, _ problem: String) {
        self.parameter = parameter
        self.problem = problem
    }

    package var description: String { "\(parameter) \(problem)" }
}
