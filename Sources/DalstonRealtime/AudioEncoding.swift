import DalstonAudio

/// How a client's audio frames are encoded (mono, at the session's sample rate).
package enum AudioEncoding: String, Sendable, CaseIterable, Codable {
    case pcmS16LE = "pcm_s16le"
    case pcmF32LE = "pcm_f32le"
    /// G.711 μ-law, one byte per sample (telephony).
    case mulaw
    /// G.711 A-law, one byte per sample.
    case alaw

    package var bytesPerSample: Int {
        switch self {
        case .pcmS16LE: 2
        case .pcmF32LE: 4
        case .mulaw, .alaw: 1
        }
    }
}

/// Turns frames of encoded audio into samples in -1...1 at the recogniser's rate. A frame may
/// end in the middle of a sample; those bytes wait for the next frame.
package struct AudioFrameDecoder: Sendable {
    package let encoding: AudioEncoding
    package let sampleRate: Int
    private var pending: [UInt8] = []
    private var resampler: StreamingResampler?

    package init(encoding: AudioEncoding, sampleRate: Int, outputRate: Int = PreparedAudio.sampleRate) {
        self.encoding = encoding
        self.sampleRate = sampleRate
        resampler = sampleRate == outputRate ? nil : StreamingResampler(from: sampleRate, to: outputRate)
    }

    /// Samples at the client's rate decoded so far (for `total_audio_seconds`).
    package private(set) var inputSamples = 0

    package mutating func decode(_ bytes: [UInt8]) -> [Float] {
        let width = encoding.bytesPerSample
        var data = bytes
        if !pending.isEmpty {
            data = pending + bytes
            pending = []
        }
        let whole = data.count - data.count % width
        if whole < data.count { pending = Array(data[whole...]) }
        var samples = [Float]()
        samples.reserveCapacity(whole / width)
        data.withUnsafeBufferPointer { raw in
            var index = 0
            while index < whole {
                switch encoding {
                case .pcmS16LE:
                    let value = Int16(bitPattern: UInt16(raw[index]) | UInt16(raw[index + 1]) << 8)
                    samples.append(Float(value) / 32768)
                case .pcmF32LE:
                    let bits = UInt32(raw[index]) | UInt32(raw[index + 1]) << 8 | UInt32(raw[index + 2]) << 16 | UInt32(raw[index + 3]) << 24
                    let value = Float(bitPattern: bits)
                    samples.append(value.isFinite ? max(-1, min(1, value)) : 0)
                case .mulaw: samples.append(Float(G711.mulaw(raw[index])) / 32768)
                case .alaw: samples.append(Float(G711.alaw(raw[index])) / 32768)
                }
                index += width
            }
        }
        inputSamples += samples.count
        guard resampler != nil else { return samples }
        return resampler?.process(samples) ?? samples
    }

    /// Drops a half-received sample (after `clear`).
    package mutating func discardPending() { pending = [] }
}

/// ITU-T G.711 expansion to 16-bit linear.
enum G711 {
    static func mulaw(_ byte: UInt8) -> Int16 {
        let value = ~byte
        let sign = value & 0x80
        let exponent = Int((value >> 4) & 0x07)
        let mantissa = Int(value & 0x0F)
        let magnitude = ((mantissa << 3) + 0x84) << exponent - 0x84
        return Int16(sign != 0 ? -magnitude : magnitude)
    }

    static func alaw(_ byte: UInt8) -> Int16 {
        let value = byte ^ 0x55
        let sign = value & 0x80
        let exponent = Int((value >> 4) & 0x07)
        let mantissa = Int(value & 0x0F)
        var magnitude = (mantissa << 4) + 8
        if exponent != 0 { magnitude = (magnitude + 0x100) << (exponent - 1) }
        return Int16(sign != 0 ? magnitude : -magnitude)
    }
}
