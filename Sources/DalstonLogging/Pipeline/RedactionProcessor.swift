public import Logging

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

    /// All secret names, folded, back to back; `ranges` says where each one is. One flat buffer
    /// keeps the per-key check free of reference counting (an array of arrays or of strings
    /// would retain and release an element on every comparison).
    private let names: [UInt8]
    private let ranges: [Range<Int>]
    /// Bit n is set when some secret name ends with byte n: most keys are ruled out right there.
    private let finalByteMask: (UInt64, UInt64, UInt64, UInt64)

    public init(keys: [String] = RedactionProcessor.defaultKeys) {
        var names: [UInt8] = []
        var ranges: [Range<Int>] = []
        var mask: [UInt64] = [0, 0, 0, 0]
        for key in keys {
            let folded = Array(Self.normalized(key).utf8)
            guard let last = folded.last else { continue }
            ranges.append(names.count..<(names.count + folded.count))
            names += folded
            mask[Int(last >> 6)] |= 1 << UInt64(last & 63)
        }
        self.names = names
        self.ranges = ranges
        self.finalByteMask = (mask[0], mask[1], mask[2], mask[3])
    }

    public func process(_ record: inout LogRecord) -> LogProcessorDecision {
        guard !ranges.isEmpty else { return .keep }
        record.fields.withUnsafeMutableBufferPointer { fields in
            for index in fields.indices {
                if let replacement = replacement(key: fields[index].key, value: fields[index].value) {
                    fields[index].value = replacement
                }
            }
        }
        return .keep
    }

    /// What a field is written with instead, or `nil` when it stays as it is.
    func replacement(key: String, value: Logger.MetadataValue) -> Logger.MetadataValue? {
        if isSecret(key) { return Self.placeholder }
        switch value {
        case .string, .stringConvertible: return nil  // nothing nested to look into
        case .array, .dictionary: return redacted(value)
        }
    }

    /// Whether a key names a secret. Allocation-free: compares bytes, folding case and `-`.
    public func isSecret(_ key: String) -> Bool {
        var key = key
        return key.withUTF8 { bytes in
            guard let last = bytes.last, mightEnd(with: Self.fold(last)) else { return false }
            return names.withUnsafeBufferPointer { names in
                for range in ranges where Self.matches(bytes, UnsafeBufferPointer(rebasing: names[range])) {
                    return true
                }
                return false
            }
        }
    }

    @inline(__always)
    private func mightEnd(with byte: UInt8) -> Bool {
        let bit: UInt64 = 1 << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: return finalByteMask.0 & bit != 0
        case 1: return finalByteMask.1 & bit != 0
        case 2: return finalByteMask.2 & bit != 0
        default: return finalByteMask.3 & bit != 0
        }
    }

    private static func matches(_ key: UnsafeBufferPointer<UInt8>, _ secret: UnsafeBufferPointer<UInt8>) -> Bool {
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
        case .array:
            return value.rewritingElements(redacted)
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
