import DalstonAudio
import DalstonPipeline
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A multipart upload as received: the form's text fields and the audio file, already stored.
struct ReceivedUpload {
    struct AudioFile {
        var filename: String
        var writer: any ArtifactWriter
        var header: WAVHeader
        var duration: Double
    }

    var fields: [String: String] = [:]
    var audio: AudioFile?
}

/// Reads a `multipart/form-data` body as it arrives: text fields into memory (each one bounded),
/// the `file` part straight into an artifact writer, judged by its WAV header before the rest is
/// read. Memory per upload is a few chunks, whatever the file size; anything over a limit stops
/// the reading at once with a 4xx that says which limit.
struct UploadReceiver {
    let configuration: GatewayConfiguration
    let artifacts: any ArtifactStore

    /// The file field's bytes kept in memory until its WAV header has been read.
    static let headerSniffBytes = 64 * 1024

    /// Receives the upload; the audio is written under the reference `audioReference(filename)`
    /// returns and committed only once all of it has arrived and passed every check. On error
    /// nothing is left behind.
    func receive(_ request: Request, audioReference: @escaping (String) -> ArtifactReference) async throws -> ReceivedUpload {
        guard let boundary = MultipartStreamParser.boundary(fromContentType: request.headers[.contentType]) else {
            throw APIError.badRequest("send the audio as multipart/form-data with a file field")
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > configuration.maximumUploadBytes {
            throw APIError.tooLarge(limit: configuration.maximumUploadBytes)
        }
        var upload = ReceivedUpload()
        var reader = PartReader(configuration: configuration, artifacts: artifacts, audioReference: audioReference)
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
                for event in events { try reader.handle(event, into: &upload) }
                if parser.isFinished { break }
            }
            do {
                try parser.finish()
            } catch {
                throw APIError.badRequest("malformed multipart body: \(error)")
            }
            return upload
        } catch {
            upload.audio?.writer.discard()
            reader.discard()
            throw error
        }
    }
}

/// Turns the parser's events into fields and the stored file, enforcing the per-part limits.
private struct PartReader {
    let configuration: GatewayConfiguration
    let artifacts: any ArtifactStore
    let audioReference: (String) -> ArtifactReference

    private enum Current {
        case none
        case field(name: String, bytes: [UInt8])
        /// The file part: bytes held until the header is read, then the writer and the header.
        case file(filename: String, sniffed: [UInt8], writer: (any ArtifactWriter)?, header: WAVHeader?)
        case skipped
    }

    private var current = Current.none
    private var fieldCount = 0

    init(configuration: GatewayConfiguration, artifacts: any ArtifactStore, audioReference: @escaping (String) -> ArtifactReference) {
        self.configuration = configuration
        self.artifacts = artifacts
        self.audioReference = audioReference
    }

    mutating func handle(_ event: MultipartStreamParser.Event, into upload: inout ReceivedUpload) throws {
        switch event {
        case .partBegan(let headers):
            fieldCount += 1
            guard fieldCount <= configuration.maximumFields else {
                throw APIError.badRequest("the form has more than \(configuration.maximumFields) fields")
            }
            if headers.name == "file" {
                guard upload.audio == nil else { throw APIError.badRequest("send one file field, not several") }
                current = .file(filename: headers.filename ?? "audio.wav", sniffed: [], writer: nil, header: nil)
            } else if upload.fields[headers.name] != nil {
                current = .skipped  // the first value of a repeated field counts
            } else {
                current = .field(name: headers.name, bytes: [])
            }
        case .partBytes(let bytes):
            switch current {
            case .field(let name, var value):
                guard value.count + bytes.count <= configuration.maximumFieldBytes else {
                    throw APIError.badRequest("the form field \(Self.quoted(name)) is longer than \(configuration.maximumFieldBytes / 1024) KB")
                }
                value += bytes
                current = .field(name: name, bytes: value)
            case .file(let filename, var sniffed, let writer, let header):
                if let writer, let header {
                    try writer.append(bytes)
                    try checkDuration(writtenBytes: writer.byteCount, header: header)
                } else {
                    sniffed += bytes
                    current = .file(filename: filename, sniffed: sniffed, writer: nil, header: nil)
                    try judgeHeader(isComplete: false)
                }
            case .none, .skipped:
                break
            }
        case .partEnded:
            switch current {
            case .field(let name, let value):
                upload.fields[name] = String(decoding: value, as: UTF8.self)
            case .file:
                try judgeHeader(isComplete: true)
                guard case .file(let filename, _, let writer?, let header?) = current else { break }
                let duration = header.duration(fileLength: writer.byteCount)
                guard duration > 0 else {
                    throw APIError(.badRequest, type: "unsupported_audio", message: "unsupported or corrupt audio: no audio samples in the data chunk")
                }
                upload.audio = .init(filename: filename, writer: writer, header: header, duration: duration)
            case .none, .skipped:
                break
            }
            current = .none
        }
    }

    /// Once enough of the file has arrived to read its header: refuses what cannot be
    /// transcribed, then starts writing.
    private mutating func judgeHeader(isComplete: Bool) throws {
        guard case .file(let filename, let sniffed, nil, nil) = current else { return }
        if sniffed.isEmpty && isComplete { throw APIError.badRequest("the file field with the audio is required") }
        let header: WAVHeader
        do {
            guard let parsed = try WAVDecoder.header(sniffed, isComplete: isComplete || sniffed.count >= UploadReceiver.headerSniffBytes) else { return }
            header = parsed
        } catch {
            throw APIError(.badRequest, type: "unsupported_audio", message: "\(error.description); send a WAV file (PCM 8/16/24/32-bit or 32-bit float)")
        }
        let rate = header.format.sampleRate
        guard (8000...192_000).contains(rate) else {
            throw APIError(.badRequest, type: "unsupported_audio", message: "the audio's sample rate is \(rate) Hz; speech needs 8 kHz to 192 kHz")
        }
        let writer = try artifacts.makeWriter(for: audioReference(filename))
        current = .file(filename: filename, sniffed: [], writer: writer, header: header)
        try writer.append(sniffed)
        try checkDuration(writtenBytes: writer.byteCount, header: header)
    }

    private func checkDuration(writtenBytes: Int, header: WAVHeader) throws {
        let limit = configuration.maximumAudioDuration.seconds
        if header.duration(fileLength: writtenBytes) > limit {
            throw APIError(.contentTooLarge, type: "audio_too_long", message: "the audio is longer than the limit of \(Self.formatted(limit))")
        }
    }

    /// Drops a file still being written (the body failed midway).
    func discard() {
        if case .file(_, _, let writer?, _) = current { writer.discard() }
    }

    private static func formatted(_ seconds: Double) -> String {
        seconds >= 3600 && seconds.truncatingRemainder(dividingBy: 3600) == 0 ? "\(Int(seconds / 3600)) h"
            : seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60)) min" : "\(Int(seconds)) s"
    }

    /// A field name as the client sent it, cut short and quoted so it cannot garble the message.
    private static func quoted(_ name: String) -> String {
        "\"" + String(name.prefix(64)).replacingOccurrences(of: "\"", with: "'") + "\""
    }
}
