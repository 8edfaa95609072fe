/// Which form fields an endpoint honours, so that none is silently dropped: a field it does not
/// know is refused by name, and a known field asking for what this deployment cannot do (speaker
/// diarization, PII redaction, ...) is refused with the reason, never accepted and ignored.
struct FormPolicy: Sendable {
    /// A field and what to say when its value asks for something unavailable (nil: the value is fine).
    typealias Check = @Sendable (String) -> String?

    let honoured: Set<String>
    let checks: [String: Check]

    func validate(_ fields: [String: [String]]) throws(APIError) {
        for (name, values) in fields.sorted(by: { $0.key < $1.key }) {
            if let check = checks[name] {
                // SDKs send `null` (or nothing) for options the caller did not set.
                for value in values where !["", "null"].contains(value.trimmed) {
                    if let refusal = check(value) { throw APIError.unsupported(name, "\(name): \(refusal)") }
                }
            } else if !honoured.contains(name) {
                let known = honoured.sorted().joined(separator: ", ")
                throw APIError.unsupported(name, "unknown field \"\(String(name.prefix(64)))\"; this endpoint takes file, \(known)")
            }
        }
    }

    /// Refused whatever the value: the feature does not exist here.
    static func never(_ reason: String) -> Check { { _ in reason } }

    /// Fine while off (`false`, `0`, `none`, empty).
    static func onlyOff(_ reason: String) -> Check {
        { value in ["", "false", "0", "none", "off", "no"].contains(value.trimmed.lowercased()) ? nil : reason }
    }

    /// Fine for one of `allowed` (compared case-insensitively).
    static func oneOf(_ allowed: Set<String>, _ reason: String) -> Check {
        { value in allowed.contains(value.trimmed.lowercased()) ? nil : reason }
    }

    static let noDiarization = "speaker diarization is not available on this deployment (no diarization engine is installed)"
    static let noPII = "PII detection and redaction are not available on this deployment"
    static let noURLInput = "fetching audio from a URL is not supported; upload the audio as the file field"
}
