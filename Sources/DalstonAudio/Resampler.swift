#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Band-limited sample-rate conversion by windowed-sinc interpolation.
///
/// Before decimating, the filter cuts off just below the lower Nyquist frequency, so content
/// the target rate cannot hold is removed instead of folding back as aliasing.
package struct Resampler: Sendable {
    /// Zero crossings of the sinc on each side: more is sharper and slower.
    package var halfWidth = 32
    /// Cut-off as a fraction of the lower Nyquist frequency (room for the transition band).
    package var cutoff = 0.94
    /// Kaiser window shape.
    package var beta = 8.6

    package init() {}

    package func resample(_ input: [Float], from inputRate: Int, to outputRate: Int) -> [Float] {
        guard inputRate != outputRate, !input.isEmpty else { return input }
        let ratio = Double(outputRate) / Double(inputRate)
        let outputCount = Int((Double(input.count) * ratio).rounded())
        let bandwidth = min(1, ratio) * cutoff    // relative to the input Nyquist
        let reach = Double(halfWidth) / bandwidth  // input samples on each side
        let kernel = kernelTable(bandwidth: bandwidth)
        let stepsPerSample = Double(Self.tableResolution) / reach
        var output = [Float](repeating: 0, count: outputCount)
        input.withUnsafeBufferPointer { samples in
            kernel.withUnsafeBufferPointer { table in
                for index in 0..<outputCount {
                    let center = Double(index) / ratio
                    let first = max(0, Int((center - reach).rounded(.up)))
                    let last = min(samples.count - 1, Int((center + reach).rounded(.down)))
                    guard first <= last else { continue }
                    var sum: Float = 0
                    for position in first...last {
                        let scaled = abs(Double(position) - center) * stepsPerSample
                        let lower = Int(scaled)
                        guard lower < Self.tableResolution else { continue }
                        let fraction = Float(scaled - Double(lower))
                        let weight = table[lower] + (table[lower + 1] - table[lower]) * fraction
                        sum += samples[position] * weight
                    }
                    output[index] = sum
                }
            }
        }
        return output
    }

    /// Points of the tabulated kernel over one side (0 to `reach` input samples).
    static let tableResolution = 16_384

    /// sinc × Kaiser window × gain, sampled over |distance| in 0...reach, then linearly
    /// interpolated: the Bessel function is evaluated once per table point, not per tap.
    func kernelTable(bandwidth: Double) -> [Float] {
        let reach = Double(halfWidth) / bandwidth
        let normaliser = 1 / besselI0(beta)
        return (0...Self.tableResolution).map { step in
            let t = Double(step) / Double(Self.tableResolution)
            let x = t * reach * bandwidth
            let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
            let window = besselI0(beta * max(0, 1 - t * t).squareRoot()) * normaliser
            return Float(sinc * window * bandwidth)
        }
    }

    /// Modified Bessel function of the first kind, order 0 (for the Kaiser window).
    private func besselI0(_ x: Double) -> Double {
        var sum = 1.0
        var term = 1.0
        let quarterSquare = x * x / 4
        var k = 1.0
        while term > 1e-12 * sum {
            term *= quarterSquare / (k * k)
            sum += term
            k += 1
        }
        return sum
    }
}

/// What every recognition engine gets: 16 kHz mono.
package enum PreparedAudio {
    package static let sampleRate = 16_000

    package static func prepare(_ audio: PCMAudio, resampler: Resampler = Resampler()) -> [Float] {
        resampler.resample(audio.downmixed(), from: audio.sampleRate, to: sampleRate)
    }
}

/// Writes 16-bit PCM mono WAV (what prepared audio is stored as).
package enum WAVEncoder {
    package static func encode16BitMono(_ samples: [Float], sampleRate: Int) -> [UInt8] {
        var bytes = header16BitMono(sampleRate: sampleRate, dataBytes: samples.count * 2)
        bytes += pcm16LittleEndian(samples)
        return bytes
    }

    /// The 44-byte header of a 16-bit mono WAV whose samples (`dataBytes` of them) follow, for
    /// audio written piece by piece after it.
    package static func header16BitMono(sampleRate: Int, dataBytes dataSize: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(44)
        func append32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        func append16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        bytes += Array("RIFF".utf8); append32(UInt32(36 + dataSize)); bytes += Array("WAVE".utf8)
        bytes += Array("fmt ".utf8); append32(16); append16(1); append16(1)
        append32(UInt32(sampleRate)); append32(UInt32(sampleRate * 2)); append16(2); append16(16)
        bytes += Array("data".utf8); append32(UInt32(dataSize))
        return bytes
    }

    /// Raw 16-bit little-endian PCM, as a WAV body or a realtime client's `pcm_s16le` frames.
    package static func pcm16LittleEndian(_ samples: [Float]) -> [UInt8] {
        pcm16LittleEndian(int16Samples(samples))
    }

    /// Raw 16-bit little-endian PCM of integer samples (a live session's buffer for its runner).
    package static func pcm16LittleEndian(_ samples: [Int16]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(samples.count * 2)
        for sample in samples {
            let bits = UInt16(bitPattern: sample)
            bytes.append(UInt8(bits & 0xFF))
            bytes.append(UInt8(bits >> 8))
        }
        return bytes
    }

    /// 16-bit samples for recognisers that take integers.
    package static func int16Samples(_ samples: [Float]) -> [Int16] {
        samples.map { Int16((max(-1, min(1, $0)) * 32767).rounded()) }
    }
}
