import DalstonPipeline
import HTTPTypes
import Hummingbird

extension TranscriptExport {
    /// A completed job's transcript as a file, with the subtitle line limits from the query.
    static func response(_ job: JobView, format: String, request: Request, notReady: HTTPResponse.Status) throws -> Response {
        guard let kind = TranscriptExport.Format(rawValue: format) else {
            throw APIError.badRequest("format must be one of \(TranscriptExport.Format.allCases.map(\.rawValue).joined(separator: ", "))", param: "format")
        }
        guard job.status == .completed, let transcript = job.transcript else {
            throw APIError(notReady, code: "not_ready", message: "job \(job.id) is \(job.status.rawValue); exports exist once it is completed", retryAfter: job.status.isFinal ? nil : 2)
        }
        let parameters = request.uri.queryParameters
        var formatter = SubtitleFormatter()
        formatter.maximumLineLength = try integer(parameters["max_line_length"].map(String.init), name: "max_line_length", in: 10...200, default: 42)
        formatter.maximumLines = try integer(parameters["max_lines"].map(String.init), name: "max_lines", in: 1...10, default: 2)
        switch parameters["include_speakers"].map(String.init)?.lowercased() ?? "true" {
        case "true", "1", "": formatter.includeSpeakers = true
        case "false", "0": formatter.includeSpeakers = false
        default: throw APIError.badRequest("include_speakers must be true or false", param: "include_speakers")
        }
        return TranscriptExport(format: kind, transcript: transcript, formatter: formatter, filename: job.id).response
    }

    static func integer(_ text: String?, name: String, in range: ClosedRange<Int>, default value: Int) throws -> Int {
        guard let text, !text.isEmpty else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)", param: name)
        }
        return number
    }
}
