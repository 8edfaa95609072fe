import Logging

/// Replaces the values of secret-bearing keys with `"[REDACTED]"`, at any depth.
///
/// A key is secret when, ignoring ASCII case and treating `-` as `_`, it equals one of the
/// configured names or ends with `_` + one of them: with the default names, `Authorization`,
/// `api_key`, `X-Api-Key`, `db_password`, `access_token` and `Set-Cookie` are all redacted,
/// while `token_count` is not.
public struct RedactionProcessor: LogProcessor {
    public static let defaultKeys = [
        "authorization", "api_key", "apikey", "password", "passwd", "token", "secret", "cookie",
        "credentials", "private_key",
    ]
    public static let placeholder: Logger.MetadataValue = .string("[REDACTED]")

    private let keys: [[UInt8]]

    public init(keys: [String] = RedactionProcessor.defaultKeys) {
        self.keys = keys.map { Array(Self.normalized($0).utf8) }.filter { !$0.isEmpty }
    }

    public func process(_ record: inout LogRecord) -> LogProcessorDecision {
        guard !keys.isEmpty else { return .keep }
        for index in record.fields.indices {
            if isSecret(record.fields[index].key) {
                record.fields[index].value = Self.placeholder
            } else if let redacted = redacted(record.fields[index].value) {
                record.fields[index].value = redacted
            }
        }
        return .keep
    }

    /// Whether a key names a secret. Allocation-free: compares bytes, folding case and `-`.
    public func isSecret(_ key: String) -> Bool {
        var key = key
        return key.withUTF8 { bytes in
            keys.contains { secret in Self.matches(bytes, secret) }
        }
    }

    private static func matches(_ key: UnsafeBufferPointer<UInt8>, _ secret: [UInt8]) -> Bool {
        guard key.count >= secret.count else { return false }
        let offset = key.count - secret.count
        if offset > 0 && fold(key[offset - 1]) != UInt8(ascii: "_") { return false }
        for index in 0..<secret.count where fold(key[offset + index]) != secret[index] {
            return false
        }
        return true
    }

    private static func fold(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte | 0x20
        case UInt8(ascii: "-"): return UInt8(ascii: "_")
        default: return byte
        }
    }

    private static func normalized(_ key: String) -> String {
        String(decoding: key.utf8.map(fold), as: UTF8.self)
    }

    /// The value with nested secrets replaced, or `nil` when there is nothing to redact.
    private func redacted(_ value: Logger.MetadataValue) -> Logger.MetadataValue? {
        switch value {
        case .string, .stringConvertible:
            return nil
        case .array(let values):
            guard values.contains(where: { redacted($0) != nil }) else { return nil }
            return .array(values.map { redacted($0) ?? $0 })
        case .dictionary(let dictionary):
            var changed = false
            var result = dictionary
            for (key, nested) in dictionary {
                if isSecret(key) {
                    result[key] = Self.placeholder
                    changed = true
                } else if let replacement = redacted(nested) {
                    result[key] = replacement
                    changed = true
                }
            }
            return changed ? .dictionary(result) : nil
        }
    }
}
