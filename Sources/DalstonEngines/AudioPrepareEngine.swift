import DalstonAudio
import DalstonBroker
import DalstonEngineSDK
import DalstonPipeline
import Foundation

/// Decodes the uploaded WAV (any PCM/float format, any rate, mono or stereo), downmixes and
/// resamples it to 16 kHz mono, and stores it as `prepared.wav` for the recogniser.
public struct AudioPrepareEngine: Engine {
    public let engineID = EngineKind.audioPrepare

    public init() {}

    public func process(_ task: TaskEnvelope, context: EngineContext) async throws -> [String: JSONValue] {
        let bytes = try context.read(try task.input.requiredArtifact("audio"))
        let audio: PCMAudio = try await context.step("decode") {
            do {
                return try WAVDecoder.decode(bytes)
            } catch {
                throw PermanentEngineError("\(error)")
            }
        }
        context.logger.debug("audio_decoded", metadata: [
            "sample_rate": .stringConvertible(audio.sampleRate), "channels": .stringConvertible(audio.channels.count),
            "duration_seconds": .stringConvertible(audio.duration),
        ])
        let prepared = await context.step("resample") { PreparedAudio.prepare(audio) }
        let reference = try context.write(WAVEncoder.encode16BitMono(prepared, sampleRate: PreparedAudio.sampleRate), name: "prepared.wav")
        return [
            "prepared_audio": .string(reference.key),
            "duration_seconds": .number(audio.duration),
            "original_sample_rate": .number(Double(audio.sampleRate)),
            "original_channels": .number(Double(audio.channels.count)),
        ]
    }
}
