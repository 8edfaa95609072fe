@testable import DalstonGateway
import Testing

@Suite("Multipart parsing as the body arrives")
struct MultipartStreamParserTests {
    /// A body whose file content holds near-misses of the boundary (`\r\n--Xy`, `--XyZ` without
    /// CRLF) that must stay content.
    static let tricky: [UInt8] = Array((
        "preamble to ignore\r\n--XyZ\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\nen\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
            + "RIFF..\r\n--Xy..--XyZ..\r\n-\r\n--XyQ-no\r\n"
            + "\r\n--XyZ--\r\nepilogue"
    ).utf8)

    /// Events with each part's bytes joined, so differently chunked feeds compare equal.
    static func parts(_ body: [UInt8], chunkSize: Int) throws -> [(MultipartPartHeaders, String)] {
        var parser = MultipartStreamParser(boundary: "XyZ")
        var parts: [(MultipartPartHeaders, [UInt8])] = []
        var start = 0
        while start < body.count {
            for event in try parser.feed(body[start..<min(body.count, start + chunkSize)]) {
                switch event {
                case .partBegan(let headers): parts.append((headers, []))
                case .partBytes(let bytes): parts[parts.count - 1].1 += bytes
                case .partEnded: break
                }
            }
            start += chunkSize
        }
        try parser.finish()
        return parts.map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }
    }

    @Test func everyChunkingGivesTheSameParts() throws {
        let whole = try Self.parts(Self.tricky, chunkSize: Self.tricky.count)
        #expect(whole.map(\.0) == [
            MultipartPartHeaders(name: "language"),
            MultipartPartHeaders(name: "file", filename: "a.wav", contentType: "audio/wav"),
        ])
        #expect(whole.map(\.1) == ["en", "RIFF..\r\n--Xy..--XyZ..\r\n-\r\n--XyQ-no\r\n"])
        for size in 1...40 {
            let chunked = try Self.parts(Self.tricky, chunkSize: size)
            #expect(chunked.map(\.0) == whole.map(\.0) && chunked.map(\.1) == whole.map(\.1), "chunks of \(size) bytes")
        }
    }

    @Test func aBodyCutShortOrWithoutBoundaryIsMalformed() throws {
        for cut in [Array("no boundary at all".utf8), Array(Self.tricky.prefix(120))] {
            var parser = MultipartStreamParser(boundary: "XyZ")
            _ = try parser.feed(cut)
            #expect(throws: MultipartStreamParser.Malformed.self) { try parser.finish() }
        }
    }

    @Test func endlessPartHeadersAreRefusedWithoutBuffering() throws {
        var parser = MultipartStreamParser(boundary: "XyZ")
        _ = try parser.feed(Array("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Padding: ".utf8))
        #expect(throws: MultipartStreamParser.Malformed.self) {
            for _ in 0..<20 { _ = try parser.feed([UInt8](repeating: UInt8(ascii: "a"), count: 1024)) }
        }
    }

    @Test func boundariesFromContentTypeHeaders() {
        #expect(MultipartStreamParser.boundary(fromContentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartStreamParser.boundary(fromContentType: "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b\"") == "a b")
        #expect(MultipartStreamParser.boundary(fromContentType: "multipart/form-data; boundary=\"") == "\"")
        #expect(MultipartStreamParser.boundary(fromContentType: "multipart/form-data") == nil)
        #expect(MultipartStreamParser.boundary(fromContentType: "application/json; boundary=abc") == nil)
        #expect(MultipartStreamParser.boundary(fromContentType: "multipart/form-data; boundary=\(String(repeating: "b", count: 71))") == nil)
    }
}
