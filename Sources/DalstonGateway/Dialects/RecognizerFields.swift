/// Form fields that go to the recogniser, read the same way by every dialect that has them.
enum RecognizerFields {
    /// `temperature`, from 0 to 1, as the recogniser's option; nil when absent or 0 (Whisper's
    /// own fallback schedule then chooses).
    static func temperature(_ text: String?) throws(APIError) -> String? {
        guard let text = text?.trimmed, !text.isEmpty else { return nil }
        guard let temperature = Double(text), (0...1).contains(temperature) else {
            throw APIError.badRequest("temperature must be a number from 0 to 1", param: "temperature")
        }
        return temperature > 0 ? String(temperature) : nil
    }
}
