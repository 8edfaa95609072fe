import DalstonAudio
import DalstonPipeline
import Foundation

/// OpenAI's known speakers (`known_speaker_names[]` with `known_speaker_references[]`, for
/// `gpt-4o-transcribe-diarize`): up to four names, each with a data URL of 2 to 10 s of audio in
/// any format the file may have. Checked here (a 400 naming the field otherwise), the clips are
/// stored with the job as 16 kHz mono WAV for the diarizer, which names the speakers whose voice
/// matches.
struct KnownSpeakerReferences {
    static let namesField = "known_speaker_names[]"
    static let referencesField = "known_speaker_references[]"
    static let mostSpeakers = 4
    static let clipSeconds = 2.0...10.0
    static let longestName = 64

    struct Clip {
        let name: String
        /// 16 kHz mono samples.
        let samples: [Float]
    }

    let clips: [Clip]

    /// The names and clips of `upload`; none when neither field is sent.
    static func read(_ upload: ReceivedUpload, diarizing: Bool) async throws -> KnownSpeakerReferences {
        let names = (upload.fields[namesField] ?? upload.fields["known_speaker_names"] ?? []).map(\.trimmed)
        let references = upload.fields[referencesField] ?? upload.fields["known_speaker_references"] ?? []
        guard !names.isEmpty || !references.isEmpty else { return KnownSpeakerReferences(clips: []) }
        guard diarizing else {
            throw APIError.badRequest("\(namesField) needs model \(ModelCatalogue.diarizingOpenAIModel)", param: namesField)
        }
        guard names.count == references.count else {
            throw APIError.badRequest("\(namesField) has \(names.count) names and \(referencesField) \(references.count) clips; give one clip per name", param: referencesField)
        }
        guard names.count <= mostSpeakers else {
            throw APIError.badRequest("\(namesField) may name at most \(mostSpeakers) speakers", param: namesField)
        }
        if let bad = names.first(where: { $0.isEmpty || $0.count > longestName || $0.contains(where: \.isNewline) }) {
            throw APIError.badRequest("each of \(namesField) must be 1 to \(longestName) characters on one line, not \"\(bad.prefix(longestName))\"", param: namesField)
        }
        guard Set(names).count == names.count else {
            throw APIError.badRequest("\(namesField) names a speaker twice", param: namesField)
        }
        var clips: [Clip] = []
        for (name, reference) in zip(names, references) {
            clips.append(Clip(name: name, samples: try await samples(of: reference, name: name)))
        }
        return KnownSpeakerReferences(clips: clips)
    }

    /// The clip of a data URL (`data:audio/wav;base64,…`) as 16 kHz mono samples.
    private static func samples(of reference: String, name: String) async throws -> [Float] {
        func refused(_ why: String) -> APIError {
            APIError.badRequest("the reference clip of \(name) \(why)", param: referencesField)
        }
        let text = reference.trimmed
        guard text.hasPrefix("data:"), let comma = text.firstIndex(of: ","), text[..<comma].hasSuffix(";base64") else {
            throw refused("is not a data URL (data:audio/wav;base64,…)")
        }
        guard let bytes = Data(base64Encoded: String(text[text.index(after: comma)...]), options: .ignoreUnknownCharacters), !bytes.isEmpty else {
            throw refused("is not valid base64")
        }
        let data = Array(bytes)
        guard let container = AudioContainer.sniff(Array(data.prefix(AudioContainer.sniffLength))) else {
            throw refused("is not audio: send \(AudioContainer.supportedNames)")
        }
        let audio: PCMAudio
        do {
            audio = try await decode(data, container: container)
        } catch let error as AudioDecodingError {
            throw refused("cannot be decoded: \(error.description)")
        }
        let seconds = (audio.duration * 100).rounded() / 100
        guard seconds <= clipSeconds.upperBound else { throw refused("lasts more than 10 s; a reference clip must last 2 to 10 s") }
        guard seconds >= clipSeconds.lowerBound else {
            throw refused(String(format: "lasts %.1f s; a reference clip must last 2 to 10 s", audio.duration))
        }
        return PreparedAudio.prepare(audio)
    }

    /// WAV in process; other formats through FFmpeg from a temporary file.
    private static func decode(_ data: [UInt8], container: AudioContainer) async throws -> PCMAudio {
        if container == .wav, let audio = try? WAVDecoder.decode(data) { return audio }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-reference-\(UUID().uuidString).\(container.rawValue)")
        try Data(data).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try await FFmpeg.decode(
            file, sampleRate: PreparedAudio.sampleRate, maximumSeconds: clipSeconds.upperBound + 1, timeout: .seconds(30))
    }

    /// Stores each clip with the job (`known_speaker_<N>.wav`) and names it in the submission.
    func store(for jobID: String, in artifacts: any ArtifactStore, into submission: inout JobSubmission) async throws {
        for (index, clip) in clips.enumerated() {
            let reference = ArtifactReference(jobID: jobID, name: "known_speaker_\(index).wav")
            try await artifacts.write(WAVEncoder.encode16BitMono(clip.samples, sampleRate: PreparedAudio.sampleRate), to: reference)
            submission.knownSpeakers.append(KnownSpeaker(name: clip.name, audio: reference.key))
        }
    }
}
