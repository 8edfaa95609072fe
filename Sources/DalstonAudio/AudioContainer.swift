/// What kind of audio file a few first bytes announce, so an upload can be judged before the
/// rest of it arrives: WAV is read here, everything else by FFmpeg.
package enum AudioContainer: String, Sendable, CaseIterable {
    case wav, mp3, aac, mp4, ogg, flac, webm

    /// Bytes needed to tell every container apart.
    package static let sniffLength = 12

    /// The container `prefix` starts with; nil when it is none of these (a text file, an image).
    package static func sniff(_ prefix: [UInt8]) -> AudioContainer? {
        func ascii(_ offset: Int, _ text: String) -> Bool {
            let expected = Array(text.utf8)
            return prefix.count >= offset + expected.count && Array(prefix[offset..<(offset + expected.count)]) == expected
        }
        if (ascii(0, "RIFF") || ascii(0, "RF64")) && ascii(8, "WAVE") { return .wav }
        if ascii(0, "ID3") { return .mp3 }
        if ascii(4, "ftyp") { return .mp4 }
        if ascii(0, "OggS") { return .ogg }
        if ascii(0, "fLaC") { return .flac }
        if prefix.count >= 4 && prefix[0] == 0x1A && prefix[1] == 0x45 && prefix[2] == 0xDF && prefix[3] == 0xA3 { return .webm }
        if prefix.count >= 2 && prefix[0] == 0xFF && prefix[1] & 0xE0 == 0xE0 {
            // MPEG frame sync: layer bits 00 are AAC's ADTS, anything else MPEG audio (MP3).
            return prefix[1] & 0x06 == 0 ? .aac : .mp3
        }
        return nil
    }

    package static let supportedNames = "WAV, MP3, M4A/AAC, MP4, Ogg/Opus, FLAC or WebM"
}
