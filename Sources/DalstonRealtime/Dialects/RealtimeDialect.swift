/// What a client's frame asks the worker to do: audio in the session's encoding, or control.
package enum WorkerCommand: Sendable, Equatable {
    case audio([UInt8])
    case control(ClientMessage)
}

/// The result of translating one client frame.
package struct DialectOutput: Sendable, Equatable {
    package var toWorker: [WorkerCommand] = []
    /// Text frames answered to the client at once (acknowledgements, errors).
    package var toClient: [String] = []

    package init(toWorker: [WorkerCommand] = [], toClient: [String] = []) {
        self.toWorker = toWorker
        self.toClient = toClient
    }
}

/// One of the WebSocket protocols clients speak. Workers speak only the native protocol; the
/// gateway translates each client frame to worker commands and each worker event to the
/// client's frames. A dialect holds the per-connection state its protocol needs (item ids).
package protocol RealtimeDialect: Sendable {
    /// `native`, `elevenlabs` or `openai` (the `protocol` label and log field).
    var name: String { get }
    mutating func clientText(_ text: String) -> DialectOutput
    mutating func clientBinary(_ bytes: [UInt8]) -> DialectOutput
    mutating func workerEvent(_ event: RealtimeEvent) -> [String]
    /// An error the gateway itself raises (no capacity, limits, timeouts, a lost worker), also
    /// before the session could be opened.
    static func errorFrame(_ error: RealtimeError) -> String
}

extension RealtimeDialect {
    package func errorFrame(_ error: RealtimeError) -> String { Self.errorFrame(error) }

    package mutating func clientBinary(_ bytes: [UInt8]) -> DialectOutput {
        DialectOutput(toWorker: [.audio(bytes)])
    }
}
