import DalstonRealtime
import Foundation
import Testing

/// The Whisper streaming policy against a scripted decoder that "hears" a known timeline of
/// words: each sample carries the 10 ms frame it belongs to, so the decoder knows which stretch
/// of the utterance a (possibly trimmed) buffer holds, answers the words wholly inside it, and
/// garbles a word cut by the buffer's end, as Whisper guesses at a word still being spoken.
@Suite("Streaming policy: Whisper")
struct WhisperStreamingTests {
    /// Words every 0.4 s (0.3 s long); every `sentence`th ends a sentence.
    static func timeline(words count: Int, sentence: Int = 0) -> [RecognizedWord] {
        (0..<count).map { index in
            let end = sentence > 0 && (index + 1) % sentence == 0 ? "." : ""
            return RecognizedWord(text: "w\(index)\(end)", start: 0.2 + Double(index) * 0.4, end: 0.5 + Double(index) * 0.4, confidence: 0.9)
        }
    }

    final class ScriptedDecoder: LiveDecoder {
        var correlation: [String: String] = [:]
        let timeline: [RecognizedWord]
        var languages: [String]
        private(set) var requests: [LiveDecodeRequest] = []

        init(timeline: [RecognizedWord], languages: [String] = ["en"]) {
            self.timeline = timeline
            self.languages = languages
        }

        func decode(_ request: LiveDecodeRequest) throws -> LiveDecoding {
            requests.append(request)
            let language = languages.count > 1 ? languages.removeFirst() : languages[0]
            guard let first = request.samples.first else { return LiveDecoding(words: [], language: language) }
            let start = Double(first) / 100
            let end = start + Double(request.samples.count) / 16_000
            let words = timeline.filter { $0.end > start && $0.start < end }.map { word -> RecognizedWord in
                let text = word.end <= end ? word.text : word.text + "-um"
                return RecognizedWord(text: text, start: word.start - start, end: min(word.end, end) - start, confidence: word.confidence)
            }
            return LiveDecoding(words: words, language: language)
        }
    }

    /// Samples whose value is their 10 ms frame's index from the utterance's start.
    static func samples(from second: Double, seconds: Double) -> [Int16] {
        let first = Int((second * 16_000).rounded())
        return (first..<first + Int((seconds * 16_000).rounded())).map { Int16($0 / 160) }
    }

    static func realTimeIndifferent() -> WhisperStreamingOptions {
        var options = WhisperStreamingOptions()
        options.partialsAheadOfRealTimeSeconds = .infinity
        return options
    }

    /// Feeds `seconds` of the utterance in 100 ms pieces, asking for a partial after each.
    static func stream(_ recognizer: WhisperStreamingRecognizer, seconds: Double, each: (Int) -> Void = { _ in }) throws -> [String] {
        var partials: [String] = []
        for step in 0..<Int(seconds * 10) {
            try recognizer.process(samples(from: Double(step) / 10, seconds: 0.1))
            if let text = try recognizer.partialHypothesis(), partials.last != text { partials.append(text) }
            each(step)
        }
        return partials
    }

    @Test func confirmedWordsNeverChangeAndTheFinalHasEveryWordOnce() throws {
        let timeline = Self.timeline(words: 20)
        let decoder = ScriptedDecoder(timeline: timeline)
        let recognizer = WhisperStreamingRecognizer(decoder: decoder, options: Self.realTimeIndifferent())
        recognizer.beginSession(language: "en", correlation: [:])
        try recognizer.startUtterance()
        var snapshots: [[String]] = []
        let partials = try Self.stream(recognizer, seconds: 8.5) { _ in snapshots.append(recognizer.confirmedWords.map(\.text)) }
        #expect(partials.count >= 8, "partials come while the utterance goes on")
        #expect(partials.contains { $0.contains("-um") }, "a word still being spoken shows in a partial, unconfirmed")
        let final = try recognizer.endUtterance().map(\.text)
        #expect(final == timeline.map(\.text))
        for (earlier, later) in zip(snapshots, snapshots.dropFirst() + [final]) {
            #expect(Array(later.prefix(earlier.count)) == earlier, "confirmed words are never taken back")
        }
        #expect(snapshots.last?.isEmpty == false, "words are confirmed before the utterance ends")
        #expect(decoder.requests.last?.pass == .final)
        #expect(decoder.requests.dropLast().allSatisfy { $0.pass == .partial })
    }

    @Test func aLongUtteranceIsTrimmedAtSentenceEndsWithNothingLostOrRepeated() throws {
        let timeline = Self.timeline(words: 150, sentence: 8)  // 60 s, a sentence every 3.2 s
        let decoder = ScriptedDecoder(timeline: timeline)
        let recognizer = WhisperStreamingRecognizer(decoder: decoder, options: Self.realTimeIndifferent())
        recognizer.beginSession(language: "en", correlation: [:])
        try recognizer.startUtterance()
        _ = try Self.stream(recognizer, seconds: 60.2)
        let final = try recognizer.endUtterance().map(\.text)
        #expect(final == timeline.map(\.text))
        let longest = decoder.requests.map { Double($0.samples.count) / 16_000 }.max() ?? 0
        #expect(longest <= WhisperStreamingOptions().trimAfterSeconds + 4, "the buffer decoded stays bounded (longest \(longest) s of 60 s)")
        let late = decoder.requests.suffix(10)
        #expect(late.allSatisfy { ($0.prompt ?? "").hasSuffix(".") }, "a trimmed buffer is decoded with the text before it as its prompt")
    }

    @Test func autoLanguageIsDetectedOnceFromTheFirstSecondsAndThenHeld() throws {
        // Guesses on under two seconds (0.5, 1, 1.5 s) say "de"; the first on two seconds says "fr".
        let decoder = ScriptedDecoder(timeline: Self.timeline(words: 20), languages: ["de", "de", "de", "fr", "en"])
        let recognizer = WhisperStreamingRecognizer(decoder: decoder, options: Self.realTimeIndifferent())
        recognizer.beginSession(language: "auto", correlation: [:])
        try recognizer.startUtterance()
        _ = try Self.stream(recognizer, seconds: 6)
        _ = try recognizer.endUtterance()
        let asked = decoder.requests.map(\.language)
        let fixedAt = try #require(asked.firstIndex { $0 != nil })
        #expect(asked[..<fixedAt].allSatisfy { $0 == nil }, "detection while under two seconds of audio")
        #expect(Double(decoder.requests[fixedAt - 1].samples.count) / 16_000 >= 2, "fixed from a decoding of at least two seconds")
        #expect(asked[fixedAt...].allSatisfy { $0 == "fr" }, "then held: \(asked)")
        #expect(recognizer.detectedLanguage == "fr")
        recognizer.beginSession(language: "en", correlation: [:])
        try recognizer.startUtterance()
        try recognizer.process(Self.samples(from: 0, seconds: 1))
        _ = try recognizer.endUtterance()
        #expect(decoder.requests.last?.language == "en", "a language the client names is passed through")
    }

    @Test func audioFarAheadOfRealTimeGetsFinalsOnly() throws {
        let decoder = ScriptedDecoder(timeline: Self.timeline(words: 40))
        let recognizer = WhisperStreamingRecognizer(decoder: decoder)
        recognizer.beginSession(language: "en", correlation: [:])
        try recognizer.startUtterance()
        // 16 s fed at once: only partials while the session is within 2 s of the wall clock.
        let partials = try Self.stream(recognizer, seconds: 16)
        #expect(decoder.requests.count <= 4, "\(decoder.requests.count) decodings for audio sent as fast as possible")
        #expect(partials.count <= 4)
        #expect(try recognizer.endUtterance().count == 40)
    }

    @Test func noiseIsDiscardedWithoutADecoding() throws {
        let decoder = ScriptedDecoder(timeline: Self.timeline(words: 3))
        let recognizer = WhisperStreamingRecognizer(decoder: decoder, options: Self.realTimeIndifferent())
        recognizer.beginSession(language: "en", correlation: [:])
        try recognizer.startUtterance()
        try recognizer.process(Self.samples(from: 0, seconds: 0.3))
        recognizer.discardUtterance()
        #expect(decoder.requests.isEmpty)
        try recognizer.startUtterance()
        #expect(try recognizer.endUtterance().isEmpty, "nothing of the discarded audio is left")
    }
}
