#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `multipart/form-data` parser fed the body chunk by chunk as it arrives, so an upload is
/// never held whole in memory: part contents come out as they are found, and only a tail the
/// length of the boundary is kept between chunks.
struct MultipartStreamParser {
    /// What the body said, in order.
    enum Event: Equatable {
        case partBegan(MultipartPartHeaders)
        case partBytes([UInt8])
        case partEnded
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    private enum State {
        /// Before the first boundary: bytes are ignored.
        case preamble
        /// Just after a boundary: `--` ends the body, CRLF starts a part's headers.
        case afterBoundary
        case headers
        case content
        /// After the closing boundary: bytes are ignored.
        case finished
    }

    /// Largest header block of one part; a part's headers are a few hundred bytes in practice.
    static let maximumHeaderBytes = 16 * 1024

    /// `CRLF--boundary`: every boundary but a first one at the very start is preceded by CRLF,
    /// so the parser starts as if the body began with CRLF.
    private let delimiter: [UInt8]
    private var pending: [UInt8] = [13, 10]
    private var state = State.preamble

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
    }

    /// The `boundary` of a `Content-Type: multipart/form-data; boundary=...` header.
    static func boundary(fromContentType contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pieces = parameter.split(separator: "=", maxSplits: 1).map { String($0).trimmed }
            if pieces.count == 2, pieces[0].lowercased() == "boundary" {
                let value = pieces[1].count >= 2 && pieces[1].hasPrefix("\"") && pieces[1].hasSuffix("\"") ? String(pieces[1].dropFirst().dropLast()) : pieces[1]
                return (1...70).contains(value.utf8.count) ? value : nil
            }
        }
        return nil
    }

    var isFinished: Bool { state == .finished }

    /// Parses what `chunk` completes; part contents are returned as soon as they cannot be the
    /// start of a boundary.
    mutating func feed(_ chunk: some Collection<UInt8>) throws(Malformed) -> [Event] {
        if state == .finished { return [] }
        pending.append(contentsOf: chunk)
        var events: [Event] = []
        var position = 0
        loop: while true {
            switch state {
            case .preamble, .content:
                if let found = Self.find(delimiter, in: pending, from: position) {
                    if state == .content {
                        if found > position { events.append(.partBytes(Array(pending[position..<found]))) }
                        events.append(.partEnded)
                    }
                    position = found + delimiter.count
                    state = .afterBoundary
                } else {
                    // Everything but a tail that might be the start of the delimiter is content.
                    let safeEnd = max(position, pending.count - (delimiter.count - 1))
                    if state == .content && safeEnd > position { events.append(.partBytes(Array(pending[position..<safeEnd]))) }
                    position = safeEnd
                    break loop
                }
            case .afterBoundary:
                guard pending.count - position >= 2 else { break loop }
                if pending[position] == UInt8(ascii: "-") && pending[position + 1] == UInt8(ascii: "-") {
                    state = .finished
                    position = pending.count
                    break loop
                }
                // Transport padding (spaces, tabs) may follow a boundary before its CRLF.
                var index = position
                while index < pending.count, pending[index] == 32 || pending[index] == 9 { index += 1 }
                guard pending.count - index >= 2 else { break loop }
                guard pending[index] == 13 && pending[index + 1] == 10 else { throw Malformed(description: "a boundary is not followed by CRLF") }
                position = index + 2
                state = .headers
            case .headers:
                guard let end = Self.find([13, 10, 13, 10], in: pending, from: position) else {
                    guard pending.count - position <= Self.maximumHeaderBytes else {
                        throw Malformed(description: "a part's headers are longer than \(Self.maximumHeaderBytes) bytes")
                    }
                    break loop
                }
                guard end - position <= Self.maximumHeaderBytes else {
                    throw Malformed(description: "a part's headers are longer than \(Self.maximumHeaderBytes) bytes")
                }
                events.append(.partBegan(try MultipartPartHeaders(String(decoding: pending[position..<end], as: UTF8.self))))
                position = end + 4
                state = .content
            case .finished:
                position = pending.count
                break loop
            }
        }
        pending.removeFirst(position)
        return events
    }

    /// Call when the body has ended: a body cut short is malformed.
    func finish() throws(Malformed) {
        switch state {
        case .finished: return
        case .preamble: throw Malformed(description: "the body does not contain the multipart boundary")
        default: throw Malformed(description: "the body ended before the closing boundary")
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count - start >= needle.count else { return nil }
        // memchr finds candidates for the first byte at memory speed; memcmp confirms them.
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin -> Int? in
                guard let base = hay.baseAddress, let pinBase = pin.baseAddress else { return nil }
                let first = Int32(needle[0])
                var index = start
                let last = hay.count - pin.count
                while index <= last {
                    guard let candidate = memchr(base + index, first, last - index + 1) else { return nil }
                    let offset = base.distance(to: UnsafeRawPointer(candidate))
                    if memcmp(base + offset, pinBase, pin.count) == 0 { return offset }
                    index = offset + 1
                }
                return nil
            }
        }
    }
}

/// The headers of one part: its field name, and for files the file name and type.
struct MultipartPartHeaders: Equatable {
    var name: String
    var filename: String?
    var contentType: String?

    init(name: String, filename: String? = nil, contentType: String? = nil) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
    }

    init(_ block: String) throws(MultipartStreamParser.Malformed) {
        var name: String?
        for line in block.split(separator: "\r\n") {
            let pieces = line.split(separator: ":", maxSplits: 1).map { String($0).trimmed }
            guard pieces.count == 2 else { continue }
            switch pieces[0].lowercased() {
            case "content-disposition":
                for parameter in pieces[1].split(separator: ";").dropFirst() {
                    let pair = parameter.split(separator: "=", maxSplits: 1).map { String($0).trimmed }
                    guard pair.count == 2 else { continue }
                    let value = pair[1].count >= 2 && pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") ? String(pair[1].dropFirst().dropLast()) : pair[1]
                    switch pair[0].lowercased() {
                    case "name": name = value
                    case "filename": filename = value
                    default: break
                    }
                }
            case "content-type":
                contentType = pieces[1]
            default:
                break
            }
        }
        guard let name else { throw MultipartStreamParser.Malformed(description: "a part has no name in its Content-Disposition") }
        self.name = name
    }
}
