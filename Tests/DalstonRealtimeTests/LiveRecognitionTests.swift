import DalstonAudio
import DalstonEngines
import DalstonTestSupport
import Foundation
import Testing

@testable import DalstonRealtime

/// The real recogniser on real speech, streamed in 100 ms frames as a client would send it, in
/// each encoding and rate a client may use.
/// Serialized and at a low priority: decoding is the heaviest CPU work of the suite, and the
/// timing-sensitive tests running beside it must not starve.
@Suite("Live recognition with PocketSphinx", .enabled(if: TranscribeEngine.isAvailable && TestSpeech.shouldRun, "needs PocketSphinx and Festival"), .serialized)
struct LiveRecognitionTests {
    enum Variant: String, CaseIterable, CustomStringConvertible {
        case s16At16k, f32At24k, s16At44k, mulawAt8k, s16At8k
        var description: String { rawValue }

        var encoding: AudioEncoding {
            switch self {
            case .s16At16k, .s16At44k, .s16At8k: .pcmS16LE
            case .f32At24k: .pcmF32LE
            case .mulawAt8k: .mulaw
            }
        }

        var rate: Int {
            switch self {
            case .s16At16k: 16_000
            case .f32At24k: 24_000
            case .s16At44k: 44_100
            case .mulawAt8k, .s16At8k: 8_000
            }
        }

        func encode(_ samples: [Float]) -> [UInt8] {
            switch encoding {
            case .pcmS16LE: WAVEncoder.pcm16LittleEndian(samples)
            case .pcmF32LE: samples.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
            case .mulaw: WAVEncoder.int16Samples(samples).map(Self.mulaw)
            case .alaw: []
            }
        }

        /// G.711 μ-law compression (the inverse of what the session decodes).
        static func mulaw(_ sample: Int16) -> UInt8 {
            let sign: UInt8 = sample < 0 ? 0x80 : 0
            var magnitude = min(Int(sample.magnitude), 32635) + 0x84
            var exponent = 7
            while exponent > 0 && magnitude & (0x4000 >> (7 - exponent)) == 0 { exponent -= 1 }
            magnitude >>= exponent + 3
            return ~(sign | UInt8(exponent << 4) | UInt8(magnitude & 0x0F))
        }
    }

    @Test(arguments: [Variant.s16At16k, .f32At24k, .s16At44k])
    func speechStreamedInFramesGetsPartialsAndAFinalWithItsWords(_ variant: Variant) async throws {
        // The recogniser serves sessions one after another, as a worker's lane does: the second
        // session's times must not carry the first one's.
        let recognizer = UncheckedBox(try TranscribeEngine.makeStreamingRecognizer())
        _ = try await stream(variant, recognizer: recognizer)
        let transcript = try await stream(variant, recognizer: recognizer)
        let partials = transcript.compactMap { if case .partial(let piece) = $0 { piece.text } else { nil } }
        let finals = transcript.compactMap { if case .final(let final) = $0 { final } else { nil } }
        #expect(!partials.isEmpty, "partials while speaking")
        let text = finals.map(\.text).joined(separator: " ")
        for word in ["hello", "world", "test", "system"] {
            #expect(text.contains(word), "\(variant): \(text)")
        }
        if let first = finals.first {
            // The speech starts after the half second of silence (less the pre-roll).
            #expect(first.start >= 0.15 && first.start <= 0.6, "\(first.start)")
            #expect(first.words?.first.map { $0.start >= first.start } == true)
        }
        let audioSeconds = 3.71 + 1.5
        for final in finals {
            #expect(final.end <= audioSeconds + 0.05, "\(final)")
            for word in final.words ?? [] {
                #expect(word.start >= final.start && word.end <= final.end + 0.001 && word.end >= word.start, "\(word) outside \(final.start)...\(final.end)")
            }
        }
        // "hello" is said first, at about 0.1 s into the speech that starts after 0.5 s of silence.
        let hello = finals.first?.words?.first { $0.word == "hello" }
        #expect(hello.map { $0.start > 0.45 && $0.start < 0.9 } == true, "\(String(describing: hello))")
    }

    /// Telephone audio: PocketSphinx's wideband model recognises little of 8 kHz speech (the
    /// batch engine neither), so this checks that μ-law reaches the recogniser as faithfully as
    /// linear PCM at the same rate: the same words come out of both.
    @Test func muLawAt8kHzIsRecognisedLikeLinearPCMAt8kHz() async throws {
        let linear = try await stream(.s16At8k).compactMap { if case .final(let final) = $0 { final.text } else { nil } }
        let mulaw = try await stream(.mulawAt8k).compactMap { if case .final(let final) = $0 { final.text } else { nil } }
        #expect(!linear.isEmpty)
        #expect(mulaw == linear)
    }

    /// Streams the test sentence in 100 ms frames of `variant`; the events, ending with `session.end`.
    func stream(_ variant: Variant, recognizer: UncheckedBox<any StreamingRecognizer>? = nil) async throws -> [RealtimeEvent] {
        let wav = try await TestSpeech.wav(saying: "hello world, this is a test of the transcription system")
        let audio = try WAVDecoder.decode(Array(try Data(contentsOf: wav)))
        let samples = Resampler().resample(audio.downmixed(), from: audio.sampleRate, to: variant.rate)
        // Half a second of silence either side, as a microphone would give.
        let padded = [Float](repeating: 0, count: variant.rate / 2) + samples + [Float](repeating: 0, count: variant.rate)
        let bytes = variant.encode(padded)
        var settings = SessionSettings(sessionID: "sess_live")
        settings.encoding = variant.encoding
        settings.sampleRate = variant.rate
        settings.wordTimestamps = true
        let recognizer = try recognizer ?? UncheckedBox(try TranscribeEngine.makeStreamingRecognizer())
        let sessionSettings = settings
        let transcript = await onBackgroundThread {
            // The recogniser is used on this one thread only.
            let session = RealtimeSession(settings: sessionSettings, recognizer: recognizer.value)
            var events: [RealtimeEvent] = []
            let frame = variant.rate / 10 * variant.encoding.bytesPerSample
            var offset = 0
            while offset < bytes.count {
                events += session.audio(Array(bytes[offset..<min(bytes.count, offset + frame)]))
                offset += frame
            }
            return events + session.control(.end)
        }
        guard case .sessionEnd(let summary)? = transcript.last else {
            Issue.record("no session.end")
            return transcript
        }
        #expect(abs(summary.totalAudioSeconds - Double(padded.count) / Double(variant.rate)) < 0.01)
        return transcript
    }
}

/// Hands a value that is not `Sendable` to the one thread that uses it.
final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
