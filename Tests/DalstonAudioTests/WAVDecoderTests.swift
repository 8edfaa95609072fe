@testable import DalstonAudio
import Foundation
import Testing

/// Builds a WAV file in memory, to test every format without fixtures.
func makeWAV(
    formatTag: UInt16 = 1, channels: Int, sampleRate: Int, bits: Int, frames: [[Double]],
    extensible: Bool = false, extraChunks: [(String, [UInt8])] = [], dataSizeOverride: UInt32? = nil
) -> [UInt8] {
    var data: [UInt8] = []
    for frame in frames {
        for value in frame {
            switch (formatTag, bits) {
            case (3, 32): withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { data += $0 }
            case (_, 8): data.append(UInt8(max(0, min(255, (value * 128 + 128).rounded()))))
            case (_, 16): withUnsafeBytes(of: Int16(max(-32768, min(32767, (value * 32768).rounded()))).littleEndian) { data += $0 }
            case (_, 24):
                let sample = Int32(max(-8_388_608, min(8_388_607, (value * 8_388_608).rounded())))
                withUnsafeBytes(of: sample.littleEndian) { data += $0.prefix(3) }
            default: withUnsafeBytes(of: Int32(max(-2_147_483_648, min(2_147_483_647, (value * 2_147_483_648).rounded()))).littleEndian) { data += $0 }
            }
        }
    }
    var fmt: [UInt8] = []
    func put16(_ v: Int, _ into: inout [UInt8]) { withUnsafeBytes(of: UInt16(v).littleEndian) { into += $0 } }
    func put32(_ v: Int, _ into: inout [UInt8]) { withUnsafeBytes(of: UInt32(v).littleEndian) { into += $0 } }
    put16(extensible ? 0xFFFE : Int(formatTag), &fmt); put16(channels, &fmt); put32(sampleRate, &fmt)
    put32(sampleRate * channels * bits / 8, &fmt); put16(channels * bits / 8, &fmt); put16(bits, &fmt)
    if extensible {
        put16(22, &fmt); put16(bits, &fmt); put32(0, &fmt); put16(Int(formatTag), &fmt)
        fmt += [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
    }
    var body: [UInt8] = Array("WAVE".utf8)
    func chunk(_ id: String, _ payload: [UInt8], size: UInt32? = nil) {
        body += Array(id.utf8)
        withUnsafeBytes(of: (size ?? UInt32(payload.count)).littleEndian) { body += $0 }
        body += payload
        if payload.count % 2 == 1 { body.append(0) }
    }
    chunk("fmt ", fmt)
    for (id, payload) in extraChunks { chunk(id, payload) }
    chunk("data", data, size: dataSizeOverride)
    var file: [UInt8] = Array("RIFF".utf8)
    withUnsafeBytes(of: UInt32(body.count).littleEndian) { file += $0 }
    return file + body
}

@Suite("WAV decoding")
struct WAVDecoderTests {
    static let ramp: [[Double]] = (0..<64).map { index in [sin(Double(index) / 5) * 0.8, cos(Double(index) / 7) * -0.5] }

    static let formatsUnderTest: [(UInt16, Int, Double)] = [
        // Samples come out as Float: its 24-bit mantissa (~6e-8) bounds the 32-bit cases.
        (1, 8, 1.0 / 64), (1, 16, 1.0 / 16_000), (1, 24, 1.0 / 4_000_000), (1, 32, 1e-7), (3, 32, 1e-7),
    ]

    @Test("every PCM and float format, mono and stereo", arguments: formatsUnderTest)
    func formats(tag: UInt16, bits: Int, tolerance: Double) throws {
        for channels in [1, 2] {
            for extensible in [false, true] {
                let frames = Self.ramp.map { Array($0.prefix(channels)) }
                let audio = try WAVDecoder.decode(makeWAV(formatTag: tag, channels: channels, sampleRate: 22_050, bits: bits, frames: frames, extensible: extensible))
                #expect(audio.sampleRate == 22_050)
                #expect(audio.channels.count == channels)
                #expect(audio.frameCount == frames.count)
                for (index, frame) in frames.enumerated() {
                    for channel in 0..<channels {
                        #expect(abs(Double(audio.channels[channel][index]) - frame[channel]) <= tolerance, "\(bits)-bit ch\(channel) frame \(index)")
                    }
                }
            }
        }
    }

    @Test func stereoDownmixesToTheAverage() throws {
        let audio = try WAVDecoder.decode(makeWAV(channels: 2, sampleRate: 8000, bits: 16, frames: [[0.5, -0.5], [0.25, 0.75]]))
        let mono = audio.downmixed()
        #expect(abs(mono[0]) < 1e-4 && abs(mono[1] - 0.5) < 1e-4)
    }

    @Test func unknownAndOddSizedChunksAreSkipped() throws {
        let audio = try WAVDecoder.decode(makeWAV(
            channels: 1, sampleRate: 16_000, bits: 16, frames: [[0.1], [0.2]],
            extraChunks: [("LIST", Array("INFOISFT".utf8) + [1, 2, 3]), ("fact", [4, 0, 0, 0])]))
        #expect(audio.frameCount == 2)
    }

    @Test func streamedFilesWithUnknownDataSizeAreRead() throws {
        let audio = try WAVDecoder.decode(makeWAV(channels: 1, sampleRate: 16_000, bits: 16, frames: [[0.1], [0.2], [0.3]], dataSizeOverride: 0xFFFF_FFFF))
        #expect(audio.frameCount == 3)
    }

    static let corruptInputs: [([UInt8], String)] = [
        ([], "too short"),
        (Array("ID3\u{3}not a wav file at all".utf8), "not a WAV file"),
        (Array("RIFF\u{0}\u{0}\u{0}\u{0}AVI LIST".utf8), "not WAVE"),
        (makeWAV(formatTag: 2, channels: 1, sampleRate: 8000, bits: 16, frames: [[0]]), "ADPCM"),
        (makeWAV(formatTag: 7, channels: 1, sampleRate: 8000, bits: 16, frames: [[0]]), "law"),
        (makeWAV(channels: 1, sampleRate: 8000, bits: 12, frames: []), "12-bit"),
        (makeWAV(channels: 1, sampleRate: 500, bits: 16, frames: [[0]]), "sample rate"),
        (makeWAV(channels: 1, sampleRate: 8000, bits: 16, frames: []), "no audio samples"),
    ]

    @Test("corrupt or unsupported input says what is wrong", arguments: corruptInputs)
    func corrupt(bytes: [UInt8], expected: String) {
        #expect {
            try WAVDecoder.decode(bytes)
        } throws: { error in
            "\(error)".contains(expected) && "\(error)".hasPrefix("unsupported or corrupt audio")
        }
    }

    @Test func truncatedAndRandomBytesNeverCrash() {
        let valid = makeWAV(channels: 2, sampleRate: 44_100, bits: 24, frames: Self.ramp)
        for length in 0..<valid.count {
            _ = try? WAVDecoder.decode(Array(valid.prefix(length)))
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? WAVDecoder.decode(bytes)
        }
    }

    @Test func encoderRoundTrips() throws {
        let samples: [Float] = (0..<1000).map { sin(Float($0) / 10) * 0.9 }
        let audio = try WAVDecoder.decode(WAVEncoder.encode16BitMono(samples, sampleRate: 16_000))
        #expect(audio.sampleRate == 16_000 && audio.channels.count == 1)
        #expect(zip(audio.channels[0], samples).allSatisfy { abs($0 - $1) < 1e-4 })
    }
}

@Suite("Resampling")
struct ResamplerTests {
    private func tone(_ frequency: Double, rate: Int, seconds: Double) -> [Float] {
        (0..<Int(Double(rate) * seconds)).map { Float(sin(2 * Double.pi * frequency * Double($0) / Double(rate)) * 0.5) }
    }

    /// RMS over the middle (the filter needs its half-width of context at each end).
    private func rms(_ signal: [Float]) -> Double {
        let middle = signal.dropFirst(signal.count / 10).dropLast(signal.count / 10)
        return (middle.reduce(0) { $0 + Double($1) * Double($1) } / Double(middle.count)).squareRoot()
    }

    static let conversions: [(Int, Double)] = [(44_100, 1000), (48_000, 3000), (32_000, 440), (8_000, 1000), (22_050, 5000)]

    @Test("a tone keeps its shape", arguments: conversions)
    func accuracy(inputRate: Int, frequency: Double) {
        let output = Resampler().resample(tone(frequency, rate: inputRate, seconds: 1), from: inputRate, to: 16_000)
        #expect(abs(output.count - 16_000) <= 1)
        let expected = tone(frequency, rate: 16_000, seconds: 1)
        let error = zip(output, expected).map { $0 - $1 }
        #expect(rms(error) < 0.005, "RMS error \(rms(error)) at \(inputRate) Hz → 16 kHz, \(frequency) Hz tone")
    }

    @Test func contentAboveTheNewNyquistIsRemovedNotAliased() {
        let output = Resampler().resample(tone(11_000, rate: 48_000, seconds: 1), from: 48_000, to: 16_000)
        let decibels = 20 * log10(rms(output) / (0.5 / 2.0.squareRoot()))
        #expect(decibels < -50, "an 11 kHz tone leaks through at \(decibels) dB")
    }

    @Test func sameRateIsUntouched() {
        let input: [Float] = [0.1, -0.2, 0.3]
        #expect(Resampler().resample(input, from: 16_000, to: 16_000) == input)
    }
}
