import DalstonRealtime

/// A recogniser for the session's unit tests: it "hears" a word for every 100 ms of audio it was
/// fed, so what the session does with utterances (start, partials, ends, times) is visible
/// without a speech model. The real recogniser is tested on real speech elsewhere.
final class ScriptedRecognizer: StreamingRecognizer {
    private(set) var started = 0
    private(set) var ended = 0
    private var fed = 0
    var failNextProcess = false

    func startUtterance() throws {
        started += 1
        fed = 0
    }

    func process(_ samples: [Int16]) throws {
        if failNextProcess {
            failNextProcess = false
            throw RecognizerFailure("scripted failure")
        }
        fed += samples.count
    }

    func partialHypothesis() -> String? {
        words.map(\.text).joined(separator: " ")
    }

    func endUtterance() throws -> [RecognizedWord] {
        ended += 1
        defer { fed = 0 }
        return words
    }

    private var words: [RecognizedWord] {
        (0..<(fed / 1600)).map { RecognizedWord(text: "w\($0)", start: Double($0) * 0.1, end: Double($0 + 1) * 0.1, confidence: 0.8) }
    }
}

/// PCM16 little-endian audio: `seconds` of a loud tone (speech to the VAD) or of silence.
enum TestAudio {
    static func tone(_ seconds: Double, rate: Int = 16_000) -> [UInt8] {
        pcm((0..<Int(seconds * Double(rate))).map { Int16(sin(Double($0) * 0.2) * 8000) })
    }

    static func silence(_ seconds: Double, rate: Int = 16_000) -> [UInt8] {
        [UInt8](repeating: 0, count: Int(seconds * Double(rate)) * 2)
    }

    static func pcm(_ samples: [Int16]) -> [UInt8] {
        samples.flatMap { [UInt8(UInt16(bitPattern: $0) & 0xFF), UInt8(UInt16(bitPattern: $0) >> 8)] }
    }
}

#if canImport(Glibc)
import Glibc
#endif
