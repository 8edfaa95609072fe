import DalstonAudio
import DalstonOutboundHTTP
import DalstonPipeline
import DalstonStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A multipart upload as received: the form's text fields and the audio file, already stored.
struct ReceivedUpload {
    struct AudioFile {
        var filename: String
        var writer: any ArtifactWriter
        var container: AudioContainer
        /// Seconds of audio when the header says (WAV); FFmpeg measures the other formats.
        var duration: Double?
        /// Channels when the header says (WAV); FFmpeg reads the other formats'.
        var channels: Int?
    }

    /// Every value of every text field, in the order sent (`timestamp_granularities[]` repeats).
    var fields: [String: [String]] = [:]
    var audio: AudioFile?

    /// The first value of a field.
    subscript(_ name: String) -> String? { fields[name]?.first }
}

/// Reads a `multipart/form-data` body as it arrives: text fields into memory (each one bounded),
/// the `file` part straight into an artifact writer, judged by its first bytes (the format, and for
/// WAV the header: sample rate, duration) before the rest is
/// read. Memory per upload is a few chunks, whatever the file size; anything over a limit stops
/// the reading at once with a 4xx that says which limit.
struct UploadReceiver {
    let configuration: GatewayConfiguration
    let artifacts: any ArtifactStore

    /// The file field's bytes kept in memory until its WAV header has been read.
    static let headerSniffBytes = 64 * 1024

    /// `4 h`, `90 min`, `45 s`: a limit as people say it.
    static func formattedDuration(_ seconds: Double) -> String {
        seconds >= 3600 && seconds.truncatingRemainder(dividingBy: 3600) == 0 ? "\(Int(seconds / 3600)) h"
            : seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60)) min" : "\(Int(seconds)) s"
    }

    /// Receives the upload into `upload` (so a caller still sees the fields read before a
    /// failure); the audio is written under the reference `audioReference` returns for the
    /// client's file name and the container the bytes turned out to be,
    /// not committed. `fileLimit` gives the largest file allowed given the fields before it (an
    /// OpenAI model name means OpenAI's 25 MB). On error nothing is left behind.
    func receive(
        _ request: Request, into upload: inout ReceivedUpload, fileLimit: @escaping ([String: [String]]) -> Int,
        audioReference: @escaping (String, AudioContainer) -> ArtifactReference
    ) async throws {
        guard let boundary = MultipartStreamParser.boundary(fromContentType: request.headers[.contentType]) else {
            throw APIError.badRequest("send the audio as multipart/form-data with a file field")
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > configuration.maximumUploadBytes {
            throw APIError.tooLarge(limit: configuration.maximumUploadBytes)
        }
        var reader = PartReader(configuration: configuration, artifacts: artifacts, fileLimit: fileLimit, audioReference: audioReference)
        do {
            var parser = MultipartStreamParser(boundary: boundary)
            var received = 0
            for try await chunk in request.body {
                received += chunk.readableBytes
                guard received <= configuration.maximumUploadBytes else { throw APIError.tooLarge(limit: configuration.maximumUploadBytes) }
                let events: [MultipartStreamParser.Event]
                do {
                    events = try parser.feed(chunk.readableBytesView)
                } catch {
                    throw APIError.badRequest("malformed multipart body: \(error)")
                }
                for event in events { try await reader.handle(event, into: &upload) }
                if parser.isFinished { break }
            }
            do {
                try parser.finish()
            } catch {
                throw APIError.badRequest("malformed multipart body: \(error)")
            }
        } catch {
            await upload.audio?.writer.discard()
            await reader.discard()
            throw error
        }
    }
}

extension UploadReceiver {
    /// Fetches the audio a form field names by URL (`audio_url`, `cloud_storage_url`) into the
    /// artifact store, judged and limited exactly as an uploaded file is; the fetch itself is
    /// guarded against server-side request forgery and bounded in size, redirects and time.
    func receiveRemote(
        _ url: String, field: String, from source: RemoteAudioSource, into upload: inout ReceivedUpload,
        fileLimit: ([String: [String]]) -> Int, audioReference: @escaping (String, AudioContainer) -> ArtifactReference
    ) async throws {
        guard upload.audio == nil else { throw APIError.badRequest("send the audio either as the file field or as \(field), not both", param: field) }
        var reader = PartReader(configuration: configuration, artifacts: artifacts, fileLimit: { _ in .max }, audioReference: audioReference)
        let limit = min(fileLimit(upload.fields), configuration.maximumUploadBytes)
        do {
            try await reader.handle(.partBegan(MultipartPartHeaders(name: "file", filename: "audio")), into: &upload)
            let filename = try await source.fetch(url, maximumBytes: limit, deadline: configuration.bodyTimeout) { chunk in
                try await reader.handle(.partBytes(chunk), into: &upload)
            }
            try await reader.handle(.partEnded, into: &upload)
            upload.audio?.filename = filename
        } catch {
            await upload.audio?.writer.discard()
            await reader.discard()
            throw (error as? GuardedHTTPClient.Failure).map { Self.apiError($0, field: field) } ?? error
        }
    }

    static func apiError(_ failure: GuardedHTTPClient.Failure, field: String) -> APIError {
        switch failure {
        case .tooLarge(let limit): APIError.tooLarge(limit: limit)
        case .refused(let reason): APIError(.badRequest, code: "url_not_allowed", message: "\(field) is refused: \(reason)", param: field, dialect: nil)
        case .invalidURL: APIError(.badRequest, code: "invalid_request", message: "\(field): \(failure.description)", param: field, dialect: nil)
        case .tooManyRedirects, .unreachable, .httpStatus:
            APIError(.badRequest, code: "audio_url_unreachable", message: "\(field): \(failure.description)", param: field, dialect: nil)
        }
    }
}

/// Turns the parser's events into fields and the stored file, enforcing the per-part limits.
private struct PartReader {
    let configuration: GatewayConfiguration
    let artifacts: any ArtifactStore
    let fileLimit: ([String: [String]]) -> Int
    let audioReference: (String, AudioContainer) -> ArtifactReference

    /// What the reader knows about the file part once its first bytes are judged.
    private struct Judged {
        var writer: any ArtifactWriter
        var container: AudioContainer
        /// WAV's header, from which duration is known as bytes arrive.
        var header: WAVHeader?
        var limit: Int
    }

    private enum Current {
        case none
        case field(name: String, bytes: [UInt8])
        /// The file part: bytes held until they are judged, then where they go.
        case file(filename: String, sniffed: [UInt8], judged: Judged?)
    }

    private var current = Current.none
    private var fieldCount = 0

    init(
        configuration: GatewayConfiguration, artifacts: any ArtifactStore, fileLimit: @escaping ([String: [String]]) -> Int,
        audioReference: @escaping (String, AudioContainer) -> ArtifactReference
    ) {
        self.configuration = configuration
        self.artifacts = artifacts
        self.fileLimit = fileLimit
        self.audioReference = audioReference
    }

    mutating func handle(_ event: MultipartStreamParser.Event, into upload: inout ReceivedUpload) async throws {
        switch event {
        case .partBegan(let headers):
            fieldCount += 1
            guard fieldCount <= configuration.maximumFields else {
                throw APIError.badRequest("the form has more than \(configuration.maximumFields) fields")
            }
            if headers.name == "file" {
                guard upload.audio == nil else { throw APIError.badRequest("send one file field, not several", param: "file") }
                current = .file(filename: headers.filename ?? "audio", sniffed: [], judged: nil)
            } else {
                current = .field(name: headers.name, bytes: [])
            }
        case .partBytes(let bytes):
            switch current {
            case .field(let name, var value):
                let limit = configuration.maximumBytes(ofField: name)
                guard value.count + bytes.count <= limit else {
                    throw APIError.badRequest("the form field \(Self.quoted(name)) is longer than \(limit / 1024) KB", param: name)
                }
                value += bytes
                current = .field(name: name, bytes: value)
            case .file(let filename, var sniffed, let judged):
                if let judged {
                    try await judged.writer.append(bytes)
                    try check(judged)
                } else {
                    sniffed += bytes
                    current = .file(filename: filename, sniffed: sniffed, judged: nil)
                    try await judge(upload.fields, isComplete: false)
                }
            case .none:
                break
            }
        case .partEnded:
            switch current {
            case .field(let name, let value):
                upload.fields[name, default: []].append(String(decoding: value, as: UTF8.self))
            case .file:
                try await judge(upload.fields, isComplete: true)
                guard case .file(let filename, _, let judged?) = current else { break }
                var duration: Double?
                var channels: Int?
                if let header = judged.header {
                    channels = header.format.channels
                    duration = header.duration(fileLength: judged.writer.byteCount)
                    guard duration ?? 0 > 0 else {
                        throw APIError(.badRequest, code: "unsupported_audio", message: "unsupported or corrupt audio: no audio samples in the data chunk", param: "file", dialect: nil)
                    }
                }
                upload.audio = .init(filename: filename, writer: judged.writer, container: judged.container, duration: duration, channels: channels)
            case .none:
                break
            }
            current = .none
        }
    }

    /// Once enough of the file has arrived to tell what it is: refuses what cannot be
    /// transcribed, then starts writing.
    private mutating func judge(_ fields: [String: [String]], isComplete: Bool) async throws {
        guard case .file(let filename, let sniffed, nil) = current else { return }
        if sniffed.isEmpty && isComplete { throw APIError.badRequest("the file field with the audio is required", param: "file") }
        guard sniffed.count >= AudioContainer.sniffLength || isComplete else { return }
        guard let container = AudioContainer.sniff(sniffed) else {
            throw Self.unsupported("the file is not audio in a format this server reads")
        }
        var header: WAVHeader?
        if container == .wav {
            do {
                guard let parsed = try WAVDecoder.header(sniffed, isComplete: isComplete || sniffed.count >= UploadReceiver.headerSniffBytes) else { return }
                header = parsed
            } catch {
                // µ-law, ADPCM and other WAV codecs are FFmpeg's to read, when it is installed.
                guard FFmpeg.isAvailable, error.reason.contains("not supported") else { throw Self.unsupported(error.reason) }
            }
            if let rate = header?.format.sampleRate, !(8000...192_000).contains(rate) {
                throw Self.unsupported("the audio's sample rate is \(rate) Hz; speech needs 8 kHz to 192 kHz")
            }
        } else if !FFmpeg.isAvailable {
            throw Self.unsupported("\(container.rawValue) audio needs FFmpeg on the server, which is not installed; send WAV")
        }
        let judged = Judged(
            writer: try await artifacts.makeWriter(for: audioReference(filename, container)), container: container, header: header,
            limit: min(fileLimit(fields), configuration.maximumUploadBytes))
        current = .file(filename: filename, sniffed: [], judged: judged)
        try await judged.writer.append(sniffed)
        try check(judged)
    }

    private func check(_ judged: Judged) throws {
        if judged.writer.byteCount > judged.limit { throw APIError.tooLarge(limit: judged.limit) }
        if let header = judged.header {
            try checkDuration(writtenBytes: judged.writer.byteCount, header: header)
        }
    }

    private static func unsupported(_ reason: String) -> APIError {
        APIError(.badRequest, code: "unsupported_audio", message: "unsupported or corrupt audio: \(reason); send \(AudioContainer.supportedNames) audio", param: "file", dialect: nil)
    }

    private func checkDuration(writtenBytes: Int, header: WAVHeader) throws {
        let limit = configuration.maximumAudioDuration.seconds
        if header.duration(fileLength: writtenBytes) > limit {
            throw APIError(.contentTooLarge, code: "audio_too_long", message: "the audio is longer than the limit of \(UploadReceiver.formattedDuration(limit))", param: "file", dialect: nil)
        }
    }

    /// Drops a file still being written (the body failed midway).
    func discard() async {
        if case .file(_, _, let judged?) = current { await judged.writer.discard() }
    }

    /// A field name as the client sent it, cut short and quoted so it cannot garble the message.
    private static func quoted(_ name: String) -> String {
        "\"" + String(name.prefix(64)).replacingOccurrences(of: "\"", with: "'") + "\""
    }
}
