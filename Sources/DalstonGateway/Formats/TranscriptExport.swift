import DalstonPipeline
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A transcript as a file: SubRip, WebVTT, plain text or JSON.
struct TranscriptExport {
    enum Format: String, CaseIterable {
        case srt, vtt, webvtt, txt, json
    }

    let format: Format
    let transcript: Transcript
    let formatter: SubtitleFormatter
    /// The download's name, without extension.
    let filename: String

    var body: String {
        switch format {
        case .srt: formatter.srt(transcript)
        case .vtt, .webvtt: formatter.vtt(transcript)
        case .txt: formatter.plainText(transcript)
        case .json: String(decoding: (try? Self.encoder.encode(transcript)) ?? Data("{}".utf8), as: UTF8.self)
        }
    }

    var contentType: String {
        switch format {
        case .srt: "application/x-subrip; charset=utf-8"
        case .vtt, .webvtt: "text/vtt; charset=utf-8"
        case .txt: "text/plain; charset=utf-8"
        case .json: "application/json"
        }
    }

    var fileExtension: String { format == .webvtt ? "vtt" : format.rawValue }

    var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.contentDisposition] = "attachment; filename=\"\(filename).\(fileExtension)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
}
