import DalstonAudio
import DalstonTestSupport
import Foundation
import Testing

@Suite("Formats: sniffing and FFmpeg")
struct FFmpegTests {
    @Test func containersAreToldApartByTheirFirstBytes() {
        let cases: [([UInt8], AudioContainer?)] = [
            (Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVEfmt ".utf8), .wav),
            (Array("ID3\u{4}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}".utf8), .mp3),
            ([0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: 0, count: 8), .mp3),
            ([0xFF, 0xF1, 0x50, 0x80] + [UInt8](repeating: 0, count: 8), .aac),
            ([0, 0, 0, 0x20] + Array("ftypM4A ".utf8), .mp4),
            (Array("OggS".utf8) + [UInt8](repeating: 0, count: 8), .ogg),
            (Array("fLaC".utf8) + [UInt8](repeating: 0, count: 8), .flac),
            ([0x1A, 0x45, 0xDF, 0xA3] + [UInt8](repeating: 0, count: 8), .webm),
            (Array("these are notes".utf8), nil),
            (Array("<html><body>".utf8), nil),
            ([], nil),
        ]
        for (bytes, expected) in cases {
            #expect(AudioContainer.sniff(bytes) == expected, "\(bytes.prefix(8))")
        }
    }

    private static var ffmpegRequired: Bool { FFmpeg.isAvailable || TestTools.areRequired }

    /// Encodes `seconds` of a tone with the real ffmpeg, as a client would have.
    private func encoded(_ extension: String, seconds: Double) async throws -> URL {
        let wav = FileManager.default.temporaryDirectory.appendingPathComponent("dalston-tone-\(UUID().uuidString).wav")
        let samples = (0..<Int(seconds * 16_000)).map { sin(Float($0) * 2 * .pi * 440 / 16_000) * 0.3 }
        try Data(WAVEncoder.encode16BitMono(samples, sampleRate: 16_000)).write(to: wav)
        let output = wav.deletingPathExtension().appendingPathExtension(`extension`)
        // Waited for on a thread of its own (`runProcess`): encoding takes seconds on a loaded
        // machine, and a blocked concurrency pool stalls the timing of every other test.
        let result = try await runProcess(URL(fileURLWithPath: "/usr/bin/ffmpeg"), arguments: ["-nostdin", "-v", "error", "-y", "-i", wav.path, output.path])
        guard result.status == 0 else { throw FFmpegEncodingFailed(description: "ffmpeg exit \(result.status): \(result.stderr)") }
        return output
    }

    @Test(.enabled(if: ffmpegRequired, "needs ffmpeg (apt-get install ffmpeg)"), arguments: ["mp3", "m4a", "ogg", "flac", "webm"])
    func encodedAudioIsMeasuredAndDecoded(format: String) async throws {
        let file = try await encoded(format, seconds: 3)
        let duration = try await FFmpeg.duration(of: file)
        #expect(abs(duration - 3) < 0.2, "\(format): \(duration) s")
        let audio = try await FFmpeg.decode(file, sampleRate: 16_000, maximumSeconds: 3600, timeout: .seconds(60))
        #expect(audio.channels.count == 1 && abs(audio.duration - 3) < 0.2, "\(format): \(audio.duration) s")
        let loudness = audio.channels[0].map { abs($0) }.reduce(0, +) / Float(audio.frameCount)
        #expect(loudness > 0.05, "the tone survived encoding (\(loudness))")
    }

    @Test(.enabled(if: ffmpegRequired, "needs ffmpeg (apt-get install ffmpeg)"))
    func decodingStopsAtTheDurationLimitAndRefusesWhatIsNotAudio() async throws {
        let file = try await encoded("mp3", seconds: 6)
        let cut = try await FFmpeg.decode(file, sampleRate: 16_000, maximumSeconds: 2, timeout: .seconds(60))
        #expect(abs(cut.duration - 2) < 0.1, "\(cut.duration) s")
        let notes = FileManager.default.temporaryDirectory.appendingPathComponent("notes-\(UUID().uuidString).mp3")
        try Data(String(repeating: "meeting notes, not audio\n", count: 50).utf8).write(to: notes)
        do {
            _ = try await FFmpeg.duration(of: notes)
            Issue.record("a text file was measured as audio")
        } catch {
            #expect(!error.description.contains(notes.path), "no server path in: \(error.description)")
        }
        await #expect(throws: AudioDecodingError.self) { _ = try await FFmpeg.decode(notes, sampleRate: 16_000, maximumSeconds: 60, timeout: .seconds(30)) }
    }
}

private struct FFmpegEncodingFailed: Error, CustomStringConvertible {
    let description: String
}
