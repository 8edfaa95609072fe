/// Reads the top-level string fields of one JSON log line without building the object: it walks
/// the line once, returns the raw bytes of the values of the keys asked for, and tells a line that
/// is not one JSON object apart. Only lines that matter are parsed in full afterwards.
struct FieldScanner {
    enum Outcome {
        /// Not JSON at all (a stack trace, a start-up banner).
        case notJSON
        /// Starts like a JSON object but is not one (cut short, hand-edited).
        case malformed
        case object
    }

    /// The keys to collect, as bytes; `values[i]` is the range of `keys[i]`'s string value.
    let keys: [[UInt8]]

    init(keys: [String]) {
        self.keys = keys.map { Array($0.utf8) }
    }

    /// Scans `line`; `found` gets, for each wanted key present with a string value, the range
    /// of its value's bytes (escapes left as they are: ids never need them).
    func scan(_ line: UnsafeRawBufferPointer, found: inout [Range<Int>?]) -> Outcome {
        for index in found.indices { found[index] = nil }
        let bytes = line.bindMemory(to: UInt8.self)
        var i = 0
        let n = bytes.count
        func skipSpace() { while i < n, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0D { i += 1 } }
        /// Past a string starting at `i` (the opening quote); returns the contents' range.
        func string() -> Range<Int>? {
            guard i < n, bytes[i] == 0x22 else { return nil }
            let start = i + 1
            i += 1
            while i < n {
                switch bytes[i] {
                case 0x5C: i += 2  // backslash: skip the escaped byte
                case 0x22:
                    defer { i += 1 }
                    return start..<i
                default: i += 1
                }
            }
            return nil
        }
        /// Past any value; false when the line ends inside it.
        func value() -> Bool {
            guard i < n else { return false }
            switch bytes[i] {
            case 0x22: return string() != nil
            case 0x7B, 0x5B:  // { [ : skip to the matching close, strings aware
                var depth = 0
                while i < n {
                    switch bytes[i] {
                    case 0x22: if string() == nil { return false }; continue
                    case 0x7B, 0x5B: depth += 1
                    case 0x7D, 0x5D:
                        depth -= 1
                        if depth == 0 { i += 1; return true }
                    default: break
                    }
                    i += 1
                }
                return false
            default:  // number, true, false, null
                let start = i
                while i < n, bytes[i] != 0x2C, bytes[i] != 0x7D, bytes[i] != 0x20 { i += 1 }
                return i > start
            }
        }
        skipSpace()
        guard i < n, bytes[i] == 0x7B else { return .notJSON }
        i += 1
        skipSpace()
        if i < n, bytes[i] == 0x7D { return .object }
        while true {
            skipSpace()
            guard let key = string() else { return .malformed }
            skipSpace()
            guard i < n, bytes[i] == 0x3A else { return .malformed }
            i += 1
            skipSpace()
            var wanted: Int?
            if i < n, bytes[i] == 0x22 {
                let length = key.count
                for (index, candidate) in keys.enumerated() where candidate.count == length {
                    if bytesEqual(candidate, line, key) {
                        wanted = index
                        break
                    }
                }
            }
            if let wanted {
                guard let range = string() else { return .malformed }
                found[wanted] = range
            } else if !value() {
                return .malformed
            }
            skipSpace()
            guard i < n else { return .malformed }
            if bytes[i] == 0x2C { i += 1; continue }
            if bytes[i] == 0x7D {
                i += 1
                skipSpace()
                return i == n ? .object : .malformed
            }
            return .malformed
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Whether `line[range]` holds exactly `expected` (compared with `memcmp`, no copies).
func bytesEqual(_ expected: [UInt8], _ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
    guard expected.count == range.count, range.upperBound <= line.count else { return false }
    guard let lineBase = line.baseAddress else { return expected.isEmpty }
    return expected.withUnsafeBytes { candidate in
        guard let candidateBase = candidate.baseAddress else { return true }
        return memcmp(candidateBase, lineBase + range.lowerBound, range.count) == 0
    }
}
