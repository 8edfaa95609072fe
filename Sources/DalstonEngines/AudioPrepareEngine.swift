import DalstonAudio
package import DalstonBroker
import DalstonCore
package import DalstonEngineSDK
import DalstonPipeline
import Foundation

/// Decodes the upload, downmixes and resamples it to 16 kHz mono, and stores it as
/// `prepared.wav` for the recogniser; a per-channel job's prepare (`split_channels`) also stores
/// each channel on its own (`prepared_ch0.wav`…) for its transcriptions. PCM and float WAV are read in process; every other format
/// (MP3, M4A/AAC, Ogg/Opus, FLAC, WebM, compressed WAV) goes through FFmpeg, with a time limit
/// (`DALSTON_FFMPEG_TIMEOUT`) and at most `maximumSeconds` of audio.
package struct AudioPrepareEngine: Engine {
    package let engineID = EngineKind.audioPrepare
    /// Less than this is a broken file, not speech.
    static let shortestAudio = 0.1
    let maximumSeconds: Double
    let decodeTimeout: Duration

    package init(maximumSeconds: Double = 4 * 3600, decodeTimeout: Duration = .seconds(600)) {
        self.maximumSeconds = maximumSeconds
        self.decodeTimeout = decodeTimeout
    }

    /// `DALSTON_MAX_AUDIO_SECONDS` (as the gateway) and `DALSTON_FFMPEG_TIMEOUT` (seconds).
    package static func make(environment: [String: String]) throws -> AudioPrepareEngine {
        AudioPrepareEngine(
            maximumSeconds: try EnvironmentValue("DALSTON_MAX_AUDIO_SECONDS", in: environment).seconds(in: 1...86_400, default: .seconds(4 * 3600)).seconds,
            decodeTimeout: try EnvironmentValue("DALSTON_FFMPEG_TIMEOUT", in: environment).seconds(in: 1...86_400, default: .seconds(600)))
    }

    package func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        let input = try task.input.requiredArtifact("audio")
        let split = task.input[PipelineStages.splitChannelsParameter]?.numberValue.map { Int($0) }
        let bytes = try await context.read(input)
        let audio: PCMAudio = try await context.step("decode") {
            let container = AudioContainer.sniff(Array(bytes.prefix(AudioContainer.sniffLength)))
            var wavError: AudioDecodingError?
            if container == .wav {
                do throws(AudioDecodingError) {
                    return try WAVDecoder.decode(bytes)
                } catch {
                    wavError = error  // perhaps µ-law or ADPCM, which FFmpeg reads
                }
            }
            guard container != nil else { throw PermanentEngineError("unsupported or corrupt audio: not a \(AudioContainer.supportedNames) file") }
            guard FFmpeg.isAvailable else {
                throw PermanentEngineError(wavError.map { "\($0)" } ?? "\(container?.rawValue ?? "this") audio needs FFmpeg, which is not installed (apt-get install ffmpeg)")
            }
            let decoded: PCMAudio
            do {
                decoded = try await FFmpeg.decode(
                    URL(fileURLWithPath: try await context.localPath(input)), sampleRate: PreparedAudio.sampleRate, channels: split ?? 1,
                    maximumSeconds: maximumSeconds, timeout: decodeTimeout)
            } catch let error as AudioDecodingError {
                throw PermanentEngineError("\(wavError ?? error)")
            }
            // A file cut off near its start decodes to a few milliseconds: say so, not "completed".
            guard decoded.duration >= Self.shortestAudio else {
                throw PermanentEngineError("unsupported or corrupt audio: only \(Int(decoded.duration * 1000)) ms could be decoded; the file may be truncated")
            }
            return decoded
        }
        context.logger.debug("audio_decoded", metadata: [
            "sample_rate": .stringConvertible(audio.sampleRate), "channels": .stringConvertible(audio.channels.count),
            "duration_seconds": .stringConvertible(audio.duration),
        ])
        let prepared = await context.step("resample") { PreparedAudio.prepare(audio) }
        let reference = try await context.write(WAVEncoder.encode16BitMono(prepared, sampleRate: PreparedAudio.sampleRate), name: "prepared.wav")
        var output: [String: JSONValue] = [
            "prepared_audio": .string(reference.key),
            "duration_seconds": .number(audio.duration),
            "original_sample_rate": .number(Double(audio.sampleRate)),
            "original_channels": .number(Double(audio.channels.count)),
        ]
        if let split {
            output["channel_audio"] = .array(try await channels(of: audio, expected: split, context: context).map { .string($0.key) })
        }
        return output
    }

    /// Each channel resampled to 16 kHz on its own and stored as `prepared_ch<N>.wav`.
    private func channels(of audio: PCMAudio, expected: Int, context: EngineContext) async throws -> [ArtifactReference] {
        guard audio.channels.count == expected else {
            throw PermanentEngineError("the audio has \(audio.channels.count) channels where its header said \(expected); it cannot be transcribed per channel")
        }
        return try await context.step("split_channels") {
            var references: [ArtifactReference] = []
            for (index, samples) in audio.channels.enumerated() {
                let channel = PreparedAudio.prepare(PCMAudio(sampleRate: audio.sampleRate, channels: [samples]))
                references.append(try await context.write(WAVEncoder.encode16BitMono(channel, sampleRate: PreparedAudio.sampleRate), name: "prepared_ch\(index).wav"))
            }
            return references
        }
    }
}
