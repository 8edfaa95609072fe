import DalstonRealtime
import Testing

/// The streaming policy's confirmation of words: two consecutive decodings must agree, confirmed
/// words never change, and repeats of confirmed words at a decoding's start are not new words.
@Suite("Streaming policy: local agreement")
struct LocalAgreementTests {
    static func words(_ text: String, from start: Double = 0, step: Double = 0.4) -> [RecognizedWord] {
        text.split(separator: " ").enumerated().map { index, word in
            RecognizedWord(text: String(word), start: start + Double(index) * step, end: start + Double(index) * step + 0.3, confidence: 1)
        }
    }

    @Test func aWordIsConfirmedOnceTwoDecodingsAgreeOnItAndAllBeforeIt() {
        var policy = LocalAgreement()
        #expect(policy.insert(Self.words("and so my")).isEmpty, "a first decoding confirms nothing")
        #expect(policy.insert(Self.words("and so my fellow")).map(\.text) == ["and", "so", "my"])
        #expect(policy.pending.map(\.text) == ["fellow"])
        // The decoder changed its mind about the fourth word: nothing more is confirmed.
        #expect(policy.insert(Self.words("And so, my follow Americans")).isEmpty)
        #expect(policy.insert(Self.words("and so my follow americans ask")).map(\.text) == ["follow", "americans"])
        #expect(policy.confirmed.map(\.text) == ["and", "so", "my", "follow", "americans"], "confirmed words are never taken back")
    }

    @Test func punctuationAndCaseDoNotBreakAgreement() {
        var policy = LocalAgreement()
        _ = policy.insert(Self.words("Hello, world"))
        #expect(policy.insert(Self.words("hello world.")).map(\.text) == ["hello", "world."])
    }

    @Test func confirmedWordsRepeatedAtTheStartOfADecodingAreNotNewWords() {
        var policy = LocalAgreement()
        _ = policy.insert(Self.words("ask not what"))
        _ = policy.insert(Self.words("ask not what your"))
        #expect(policy.confirmed.map(\.text) == ["ask", "not", "what"])
        // A decoding of a trimmed buffer whose times overlap the confirmed words by a little,
        // and which says "what" again at its start.
        let overlap = [RecognizedWord(text: "what", start: 1.05, end: 1.15, confidence: 1)] + Self.words("your country can", from: 1.2)
        #expect(policy.insert(overlap).map(\.text) == ["your"])
        #expect(policy.pending.map(\.text) == ["country", "can"])
    }

    @Test func theLastDecodingOfAnUtteranceConfirmsItsRest() {
        var policy = LocalAgreement()
        _ = policy.insert(Self.words("go forward"))
        _ = policy.insert(Self.words("go forward ten"))
        #expect(policy.finish(Self.words("go forward ten meters")).map(\.text) == ["ten", "meters"])
        #expect(policy.pending.isEmpty)
        #expect(policy.confirmed.map(\.text) == ["go", "forward", "ten", "meters"])
    }
}
