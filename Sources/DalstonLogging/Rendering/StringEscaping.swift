/// Escaping shared by both renderers: the result is valid inside a JSON string and cannot break
/// or forge a line on a terminal.
///
/// Escaped: `"` and `\`, all C0 controls and DEL, C1 controls (U+0080–U+009F: NEL and the
/// 8-bit CSI), the Unicode line/paragraph separators U+2028/U+2029, and the bidirectional
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069) that can make text display in another
/// order than it is stored. Everything else is copied byte for byte.
enum StringEscaping {
    static func appendEscaped(_ text: String, to out: inout LineBuffer) {
        var text = text
        text.withUTF8 { appendEscaped($0, to: &out) }
    }

    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout LineBuffer) {
        let count = bytes.count
        var runStart = 0
        var index = cleanPrefixLength(bytes)
        if index == count {
            out.append(bytes)  // the common case: nothing to escape, one copy
            return
        }
        while index < count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            if byte >= 0x80 {
                guard let (scalar, length) = escapedMultiByteScalar(bytes, at: index) else {
                    index += 1
                    continue
                }
                out.append(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                appendUnicodeEscape(scalar, to: &out)
                index += length
                runStart = index
                continue
            }
            out.append(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            default: appendUnicodeEscape(UInt32(byte), to: &out)
            }
            index += 1
            runStart = index
        }
        out.append(UnsafeBufferPointer(rebasing: bytes[runStart..<count]))
    }

    /// How many leading bytes certainly need no escaping, checked eight at a time: a word is clean
    /// when none of its bytes is below 0x20, at or above 0x7F, a quote or a backslash.
    @inline(__always)
    static func cleanPrefixLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var offset = 0
        while offset + 8 <= bytes.count {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let below0x20 = word &- (ones &* 0x20)
            let plus1 = word &+ ones  // 0x7F becomes 0x80; bytes >= 0x80 are caught by `word` itself
            let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (below0x20 & ~word) | plus1 | word
            if special & highs != 0 { break }
            offset += 8
        }
        return offset
    }

    /// Whether `bytes` needs no escaping and no quoting as a bare console value.
    static func isBareConsoleWord(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        for byte in bytes {
            guard byte > 0x20 && byte < 0x7F, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"),
                  byte != UInt8(ascii: "="), byte != UInt8(ascii: "'")
            else { return false }
        }
        return true
    }

    /// The scalar at `index` when it is one of the multi-byte characters that must be escaped.
    /// Swift strings are valid UTF-8, so a lead byte is always followed by its continuation bytes.
    private static func escapedMultiByteScalar(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (UInt32, Int)? {
        let lead = bytes[index]
        if lead == 0xC2, index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) {
            return (UInt32(bytes[index + 1]), 2)  // C1 control U+0080...U+009F
        }
        if lead == 0xE2, index + 2 < bytes.count {
            let second = bytes[index + 1]
            let third = bytes[index + 2]
            if second == 0x80, (0xA8...0xAE).contains(third) {
                return (0x2000 + UInt32(third - 0x80), 3)  // U+2028...U+202E
            }
            if second == 0x81, (0xA6...0xA9).contains(third) {
                return (0x2040 + UInt32(third - 0x80), 3)  // U+2066...U+2069
            }
        }
        return nil
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendUnicodeEscape(_ scalar: UInt32, to out: inout LineBuffer) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(hexDigits[Int((scalar >> UInt32(shift)) & 0xF)])
        }
    }
}

/// Helpers for showing untrusted text in messages meant for people.
enum ConsoleEscaping {
    /// `"text"` with every dangerous character escaped.
    static func quoted<S: StringProtocol>(_ text: S) -> String {
        var line = LineBuffer(capacity: text.utf8.count + 16)
        line.append(UInt8(ascii: "\""))
        StringEscaping.appendEscaped(String(text), to: &line)
        line.append(UInt8(ascii: "\""))
        return line.string
    }
}
