import Foundation

/// The worker's acknowledgement of audio it has decoded, sent to the gateway after each audio
/// message (never forwarded to clients): the gateway keeps at most a window of audio in flight
/// to the worker and reads no more from its client until the worker has caught up, so a client
/// streaming a file faster than real time meets back-pressure instead of losing its session,
/// and a session's buffered audio stays bounded.
package struct WorkerProgress: Sendable, Equatable, Codable {
    package static let type = "worker.progress"
    package var type = WorkerProgress.type
    /// Bytes of client audio decoded so far in the session (as the gateway sent them).
    package var audioBytes: Int

    package init(audioBytes: Int) {
        self.audioBytes = audioBytes
    }

    enum CodingKeys: String, CodingKey {
        case type
        case audioBytes = "audio_bytes"
    }

    package var json: String {
        #"{"type":"\#(Self.type)","audio_bytes":\#(audioBytes)}"#
    }

    /// The progress a worker's text message carries, or nil when it is an event for the client.
    package static func parse(_ text: String) -> WorkerProgress? {
        guard text.hasPrefix(#"{"type":"\#(type)""#) else { return nil }
        return try? JSONDecoder().decode(WorkerProgress.self, from: Data(text.utf8))
    }
}
