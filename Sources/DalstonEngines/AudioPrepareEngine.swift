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
        let path = try task.input.requiredString("audio_path")
        let bytes: [UInt8]
        do {
            bytes = try context.artifacts.read(URL(fileURLWithPath: path))
        } catch {
            throw PermanentEngineError("cannot read the uploaded audio: \(error.localizedDescription)")
        }
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
        let url = try context.artifacts.write(
            WAVEncoder.encode16BitMono(prepared, sampleRate: PreparedAudio.sampleRate), jobID: task.jobID, name: "prepared.wav")
        return [
            "prepared_audio_path": .string(url.path),
            "duration_seconds": .number(audio.duration),
            "original_sample_rate": .number(Double(audio.sampleRate)),
            "original_channels": .number(Double(audio.channels.count)),
        ]
    }
}
