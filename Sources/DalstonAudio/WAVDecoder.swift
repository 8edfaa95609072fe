/// Audio that could not be read, with what is wrong in words a caller can show to a user.
package struct AudioDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    package let reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { "unsupported or corrupt audio: \(reason)" }
}

/// Decoded audio: one array of samples in -1...1 per channel.
package struct PCMAudio: Sendable, Equatable {
    package var sampleRate: Int
    package var channels: [[Float]]

    package init(sampleRate: Int, channels: [[Float]]) {
        self.sampleRate = sampleRate
        self.channels = channels
    }

    package var frameCount: Int { channels.first?.count ?? 0 }
    package var duration: Double { sampleRate > 0 ? Double(frameCount) / Double(sampleRate) : 0 }

    /// All channels averaged into one.
    package func downmixed() -> [Float] {
        guard channels.count > 1 else { return channels.first ?? [] }
        let scale = 1 / Float(channels.count)
        var mono = [Float](repeating: 0, count: frameCount)
        for channel in channels {
            for index in 0..<mono.count { mono[index] += channel[index] * scale }
        }
        return mono
    }
}

/// Reads RIFF/WAVE files: PCM 8, 16, 24 and 32-bit integer and 32-bit float (also as
/// WAVE_FORMAT_EXTENSIBLE), any channel count up to 8 and any sample rate from 1 kHz to 384 kHz.
/// Chunks it does not need (LIST, fact, cue, ...) are skipped.
package enum WAVDecoder {
    package static let maximumChannels = 8

    package static func decode(_ bytes: [UInt8]) throws(AudioDecodingError) -> PCMAudio {
        guard let header = try header(bytes, isComplete: true) else { throw AudioDecodingError("no data chunk") }
        let format = header.format
        let frames = header.dataLength(fileLength: bytes.count) / format.blockAlign
        guard frames > 0 else { throw AudioDecodingError("no audio samples in the data chunk") }

        var channels = [[Float]](repeating: [], count: format.channels)
        for channel in 0..<format.channels { channels[channel].reserveCapacity(frames) }
        let bytesPerSample = format.bitsPerSample / 8
        for frame in 0..<frames {
            let frameStart = header.dataOffset + frame * format.blockAlign
            for channel in 0..<format.channels {
                channels[channel].append(format.sample(bytes, at: frameStart + channel * bytesPerSample))
            }
        }
        return PCMAudio(sampleRate: format.sampleRate, channels: channels)
    }

    /// Reads the header from the first bytes of a file, so an upload can be judged (format,
    /// duration) before the rest arrives. Returns nil while `prefix` ends before the data chunk
    /// begins and more may come (`isComplete` false).
    package static func header(_ prefix: [UInt8], isComplete: Bool) throws(AudioDecodingError) -> WAVHeader? {
        guard prefix.count >= 12 else {
            if isComplete { throw AudioDecodingError("file too short to be a WAV (\(prefix.count) bytes)") }
            return nil
        }
        guard ascii(prefix, 0, 4) == "RIFF" || ascii(prefix, 0, 4) == "RF64" else {
            throw AudioDecodingError("not a WAV file (no RIFF header); only WAV audio is accepted")
        }
        guard ascii(prefix, 8, 4) == "WAVE" else { throw AudioDecodingError("RIFF file is not WAVE audio") }
        var format: Format?
        var offset = 12
        while offset + 8 <= prefix.count {
            let id = ascii(prefix, offset, 4)
            let declared = Int(readUInt32(prefix, offset + 4))
            let bodyStart = offset + 8
            let available = prefix.count - bodyStart
            switch id {
            case "fmt ":
                guard declared >= 16 else { throw AudioDecodingError("fmt chunk too short") }
                guard available >= min(declared, 40) else {
                    if isComplete { throw AudioDecodingError("fmt chunk too short") }
                    return nil
                }
                format = try Format(prefix, at: bodyStart, size: min(declared, available))
            case "data":
                guard let format else { throw AudioDecodingError("no fmt chunk before the data chunk") }
                // Streamed files may declare 0 or 0xFFFFFFFF: the file's length decides then.
                return WAVHeader(format: format, dataOffset: bodyStart, declaredDataLength: declared == 0 || declared == 0xFFFF_FFFF ? nil : declared)
            default:
                break
            }
            offset = bodyStart + declared + (declared & 1)  // chunks are padded to even sizes
        }
        if isComplete { throw AudioDecodingError(format == nil ? "no fmt chunk" : "no data chunk") }
        return nil
    }

    /// The sample layout of a WAV file.
    package struct Format: Sendable, Equatable {
        package enum Encoding: Sendable { case integer, float }
        package let encoding: Encoding
        package let channels: Int
        package let sampleRate: Int
        package let blockAlign: Int
        package let bitsPerSample: Int

        init(_ bytes: [UInt8], at start: Int, size: Int) throws(AudioDecodingError) {
            var tag = Int(readUInt16(bytes, start))
            channels = Int(readUInt16(bytes, start + 2))
            sampleRate = Int(readUInt32(bytes, start + 4))
            blockAlign = Int(readUInt16(bytes, start + 12))
            bitsPerSample = Int(readUInt16(bytes, start + 14))
            if tag == 0xFFFE {
                guard size >= 40 else { throw AudioDecodingError("WAVE_FORMAT_EXTENSIBLE fmt chunk too short") }
                tag = Int(readUInt16(bytes, start + 24))  // first two bytes of the sub-format GUID
            }
            switch tag {
            case 1: encoding = .integer
            case 3: encoding = .float
            case 2, 0x11: throw AudioDecodingError("compressed WAV (ADPCM) is not supported; use PCM or float WAV")
            case 6, 7: throw AudioDecodingError("A-law/µ-law WAV is not supported; use PCM or float WAV")
            default: throw AudioDecodingError("WAV format tag \(tag) is not supported; use PCM or float WAV")
            }
            guard (1...WAVDecoder.maximumChannels).contains(channels) else {
                throw AudioDecodingError("\(channels) channels; 1 to \(WAVDecoder.maximumChannels) are supported")
            }
            guard (1000...384_000).contains(sampleRate) else { throw AudioDecodingError("sample rate \(sampleRate) Hz is outside 1 kHz to 384 kHz") }
            switch (encoding, bitsPerSample) {
            case (.integer, 8), (.integer, 16), (.integer, 24), (.integer, 32), (.float, 32): break
            default: throw AudioDecodingError("\(bitsPerSample)-bit \(encoding == .float ? "float" : "PCM") is not supported")
            }
            guard blockAlign == channels * bitsPerSample / 8 else {
                throw AudioDecodingError("block align \(blockAlign) does not match \(channels) channels of \(bitsPerSample) bits")
            }
        }

        func sample(_ bytes: [UInt8], at index: Int) -> Float {
            switch (encoding, bitsPerSample) {
            case (.integer, 8):
                return (Float(bytes[index]) - 128) / 128  // 8-bit WAV is unsigned
            case (.integer, 16):
                return Float(Int16(bitPattern: readUInt16(bytes, index))) / 32768
            case (.integer, 24):
                let raw = Int32(bytes[index]) | Int32(bytes[index + 1]) << 8 | Int32(bytes[index + 2]) << 16
                return Float((raw << 8) >> 8) / 8_388_608  // sign-extend 24 bits
            case (.integer, 32):
                return Float(Double(Int32(bitPattern: readUInt32(bytes, index))) / 2_147_483_648)
            default:
                let value = Float(bitPattern: readUInt32(bytes, index))
                return value.isFinite ? max(-1, min(1, value)) : 0
            }
        }
    }
}

func ascii(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> String {
    guard offset + count <= bytes.count else { return "" }
    return String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
}

func readUInt16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
    UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
}

func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
}

/// What a WAV file's header says: its format and where the samples are.
package struct WAVHeader: Sendable, Equatable {
    package let format: WAVDecoder.Format
    /// Where the samples begin.
    package let dataOffset: Int
    /// The data chunk's size as the header declares it (nil for streamed files that do not say).
    package let declaredDataLength: Int?

    /// Sample bytes in a file of `fileLength` bytes: the declared size when the file holds it.
    package func dataLength(fileLength: Int) -> Int {
        let available = max(0, fileLength - dataOffset)
        return min(declaredDataLength ?? available, available)
    }

    package func duration(fileLength: Int) -> Double {
        Double(dataLength(fileLength: fileLength) / format.blockAlign) / Double(format.sampleRate)
    }

    /// Bytes of a file holding `seconds` of audio.
    package func fileLength(forSeconds seconds: Double) -> Int {
        dataOffset + Int(seconds * Double(format.sampleRate)) * format.blockAlign
    }
}
