import DalstonPipeline

/// The speaker fields every dialect shares: whether to diarize, and the counts that bound it,
/// checked the same way whichever API asked (400 naming the field).
enum SpeakerFields {
    static let mostSpeakers = 32
    static let countNames = ["num_speakers", "min_speakers", "max_speakers"]

    /// `num_speakers`, `min_speakers`, `max_speakers` as given (each 1…32, min ≤ max, an exact
    /// count within the bounds).
    static func counts(num: String?, min: String?, max: String?) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for (name, text) in zip(countNames, [num, min, max]) {
            guard let text = text?.trimmed, !text.isEmpty, text != "null" else { continue }
            guard let value = Int(text), (1...mostSpeakers).contains(value) else {
                throw APIError.badRequest("\(name) must be a whole number from 1 to \(mostSpeakers)", param: name)
            }
            counts[name] = value
        }
        if let low = counts["min_speakers"], let high = counts["max_speakers"], low > high {
            throw APIError.badRequest("min_speakers (\(low)) is more than max_speakers (\(high))", param: "min_speakers")
        }
        if let exact = counts["num_speakers"], exact < counts["min_speakers", default: 1] || exact > counts["max_speakers", default: mostSpeakers] {
            throw APIError.badRequest("num_speakers (\(exact)) is outside min_speakers…max_speakers", param: "num_speakers")
        }
        return counts
    }

    /// Asks `submission` to be diarized with `counts`.
    static func diarize(_ submission: inout JobSubmission, counts: [String: Int]) {
        submission.speakerDetection = SpeakerDetection.diarize
        submission.speakerCounts = counts
    }
}
