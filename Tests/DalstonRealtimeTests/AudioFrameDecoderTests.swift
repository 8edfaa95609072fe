import DalstonAudio
import Foundation
import Testing

@testable import DalstonRealtime

@Suite("Realtime audio frames")
struct AudioFrameDecoderTests {
    @Test func sixteenBitSamplesSplitAcrossFramesAreJoined() {
        var decoder = AudioFrameDecoder(encoding: .pcmS16LE, sampleRate: 16_000)
        // 0x4000 = 16384 = 0.5, 0xC000 = -16384 = -0.5; the second sample's bytes arrive apart.
        #expect(decoder.decode([0x00, 0x40, 0x00]) == [0.5])
        #expect(decoder.decode([0xC0]) == [-0.5])
        #expect(decoder.inputSamples == 2)
    }

    @Test func floatSamplesAreClampedAndNonFiniteOnesSilenced() {
        var decoder = AudioFrameDecoder(encoding: .pcmF32LE, sampleRate: 16_000)
        var bytes: [UInt8] = []
        for value: Float in [0.25, 3, .nan, -2] { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        #expect(decoder.decode(bytes) == [0.25, 1, 0, -1])
    }

    @Test func g711ExpandsToTheStandardLinearValues() {
        // ITU-T G.711 reference points.
        #expect(G711.mulaw(0xFF) == 0)
        #expect(G711.mulaw(0x7F) == 0)
        #expect(G711.mulaw(0x00) == -32124)
        #expect(G711.mulaw(0x80) == 32124)
        #expect(G711.alaw(0xD5) == 8)
        #expect(G711.alaw(0x55) == -8)
        #expect(G711.alaw(0xAA) == 32256)
        #expect(G711.alaw(0x2A) == -32256)
    }

    @Test func theStreamingResamplerMatchesOnePassOverTheWholeSignal() {
        let rate = 24_000
        let signal = (0..<rate).map { Float(sin(2 * Double.pi * 440 * Double($0) / Double(rate)) * 0.5) }
        let whole = Resampler().resample(signal, from: rate, to: 16_000)
        var streaming = StreamingResampler(from: rate, to: 16_000)
        var pieces: [Float] = []
        var offset = 0
        var generator = SystemRandomNumberGenerator()
        while offset < signal.count {
            let size = Int.random(in: 1...997, using: &generator)
            pieces += streaming.process(Array(signal[offset..<min(signal.count, offset + size)]))
            offset += size
        }
        pieces += streaming.finish()
        #expect(abs(pieces.count - whole.count) <= 1)
        // Away from the ends (where one pass sees the same edges) the outputs agree closely.
        let worst = (100..<(min(pieces.count, whole.count) - 100)).map { abs(pieces[$0] - whole[$0]) }.max() ?? 1
        #expect(worst < 1e-4, "largest difference \(worst)")
    }

    @Test func aFrameDecoderResamplesTheClientRate() {
        var decoder = AudioFrameDecoder(encoding: .pcmS16LE, sampleRate: 8_000)
        let second = [UInt8](repeating: 0, count: 16_000)
        let samples = decoder.decode(second)
        // 8 kHz in, 16 kHz out: twice the samples, less the filter's look-ahead still waiting.
        #expect(samples.count > 15_800 && samples.count <= 16_000)
        #expect(decoder.inputSamples == 8_000)
    }

    @Test func energyDecidesSpeech() {
        let silence = [Float](repeating: 0, count: 480)
        let quiet = (0..<480).map { Float(sin(Double($0) * 0.3) * 0.001) }  // about -63 dBFS
        let loud = (0..<480).map { Float(sin(Double($0) * 0.3) * 0.2) }     // about -17 dBFS
        let detector = VoiceActivityDetector(threshold: 0.5)
        #expect(!detector.isSpeech(silence[...]))
        #expect(!detector.isSpeech(quiet[...]))
        #expect(detector.isSpeech(loud[...]))
        #expect(VoiceActivityDetector.probability(loud[...]) == 1)
    }
}
