/// One part of a `multipart/form-data` body.
struct MultipartPart: Sendable {
    var name: String
    var filename: String?
    var contentType: String?
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A `multipart/form-data` parser for bodies already collected (and size-limited) in memory.
enum MultipartForm {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// The boundary from a `Content-Type: multipart/form-data; boundary=...` header.
    static func boundary(fromContentType contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pieces = parameter.split(separator: "=", maxSplits: 1).map { String($0).trimmed }
            if pieces.count == 2, pieces[0].lowercased() == "boundary" {
                let value = pieces[1].hasPrefix("\"") && pieces[1].hasSuffix("\"") && pieces[1].count >= 2 ? String(pieces[1].dropFirst().dropLast()) : pieces[1]
                return (1...70).contains(value.utf8.count) ? value : nil
            }
        }
        return nil
    }

    static func parse(_ body: [UInt8], boundary: String) throws -> [MultipartPart] {
        let delimiter = Array("--\(boundary)".utf8)
        guard var position = firstIndex(of: delimiter, in: body, from: 0) else {
            throw Malformed(description: "the body does not contain the multipart boundary")
        }
        var parts: [MultipartPart] = []
        while true {
            position += delimiter.count
            if body[position...].starts(with: Array("--".utf8)) { break }  // closing delimiter
            guard body[position...].starts(with: [13, 10]) else { throw Malformed(description: "a boundary is not followed by CRLF") }
            position += 2
            guard let headerEnd = firstIndex(of: [13, 10, 13, 10], in: body, from: position) else {
                throw Malformed(description: "a part's headers do not end")
            }
            let headers = String(decoding: body[position..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = firstIndex(of: [13, 10] + delimiter, in: body, from: contentStart) else {
                throw Malformed(description: "a part is not closed by the boundary")
            }
            parts.append(try part(headers: headers, body: Array(body[contentStart..<next])))
            position = next + 2
        }
        return parts
    }

    private static func part(headers: String, body: [UInt8]) throws -> MultipartPart {
        var name: String?
        var filename: String?
        var contentType: String?
        for line in headers.split(separator: "\r\n") {
            let pieces = line.split(separator: ":", maxSplits: 1).map { String($0).trimmed }
            guard pieces.count == 2 else { continue }
            switch pieces[0].lowercased() {
            case "content-disposition":
                for parameter in pieces[1].split(separator: ";").dropFirst() {
                    let pair = parameter.split(separator: "=", maxSplits: 1).map { String($0).trimmed }
                    guard pair.count == 2 else { continue }
                    let value = pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") && pair[1].count >= 2 ? String(pair[1].dropFirst().dropLast()) : pair[1]
                    if pair[0].lowercased() == "name" { name = value }
                    if pair[0].lowercased() == "filename" { filename = value }
                }
            case "content-type":
                contentType = pieces[1]
            default:
                break
            }
        }
        guard let name else { throw Malformed(description: "a part has no name in its Content-Disposition") }
        return MultipartPart(name: name, filename: filename, contentType: contentType, body: body)
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

/// Builds a `multipart/form-data` body, for clients of the gateway (the CLI, benchmarks).
public struct MultipartFormBody: Sendable {
    public let boundary: String
    private var bytes: [UInt8] = []

    public init(boundary: String = "dalston-\(UInt64.random(in: 0...UInt64.max))") {
        self.boundary = boundary
    }

    /// The `Content-Type` header value to send with the body.
    public var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    public mutating func addField(_ name: String, _ value: String) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    public mutating func addFile(_ name: String, filename: String, contentType: String = "audio/wav", contents: [UInt8]) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n\r\n".utf8)
        bytes += contents
        bytes += Array("\r\n".utf8)
    }

    /// The complete body, closing delimiter included.
    public var encoded: [UInt8] { bytes + Array("--\(boundary)--\r\n".utf8) }
}
