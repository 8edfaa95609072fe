import Foundation

/// The streaming policy on top of a recogniser that is not a streaming one (Whisper): the same
/// growing audio is decoded again and again, and a word is confirmed once two consecutive
/// decodings agree on it and on everything before it (local agreement of two hypotheses, as
/// ufal/whisper_streaming does it). Confirmed words are never taken back; the words after them
/// are the partial's unconfirmed tail.
///
/// Times are seconds in the session's audio. Words a new hypothesis repeats from the confirmed
/// text (a decoding of a buffer that still holds confirmed audio starts with them) are dropped
/// by time and by matching the confirmed text's last words.
package struct LocalAgreement: Sendable {
    /// Words confirmed so far, in order.
    package private(set) var confirmed: [RecognizedWord] = []
    /// The previous hypothesis's words after the confirmed ones.
    package private(set) var pending: [RecognizedWord] = []
    /// How far back (seconds) a new word may start before the last confirmed word ended and still
    /// count as new: decoders move word edges by a few tens of milliseconds between runs.
    package var tolerance = 0.1
    /// The longest run of confirmed words a new hypothesis may repeat at its start.
    package var longestRepeat = 5

    package init() {}

    /// Takes a new decoding of the audio so far; returns the words it confirms (possibly none).
    package mutating func insert(_ hypothesis: [RecognizedWord]) -> [RecognizedWord] {
        let fresh = unconfirmed(in: hypothesis)
        var agreed: [RecognizedWord] = []
        for (previous, current) in zip(pending, fresh) {
            guard Self.key(previous.text) == Self.key(current.text) else { break }
            agreed.append(current)
        }
        confirmed += agreed
        pending = Array(fresh.dropFirst(agreed.count))
        return agreed
    }

    /// Ends the utterance with its last decoding: everything in it after the confirmed words is
    /// confirmed (the audio will not grow any more); returns those words.
    package mutating func finish(_ hypothesis: [RecognizedWord]) -> [RecognizedWord] {
        let rest = unconfirmed(in: hypothesis)
        confirmed += rest
        pending = []
        return rest
    }

    /// The words of `hypothesis` that are not already confirmed: those starting after the last
    /// confirmed word (within `tolerance`), without a leading repeat of the confirmed tail.
    private func unconfirmed(in hypothesis: [RecognizedWord]) -> [RecognizedWord] {
        guard let last = confirmed.last else { return hypothesis }
        var words = hypothesis.filter { $0.start > last.end - tolerance }
        let keys = words.map { Self.key($0.text) }
        let tail = confirmed.suffix(longestRepeat).map { Self.key($0.text) }
        for length in stride(from: min(longestRepeat, tail.count, keys.count), through: 1, by: -1)
        where Array(tail.suffix(length)) == Array(keys.prefix(length)) {
            words.removeFirst(length)
            break
        }
        return words
    }

    /// Words compared without case or punctuation (`Hello,` and `hello` agree).
    static func key(_ text: String) -> String {
        String(text.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == "'" }.map(Character.init))
    }
}
