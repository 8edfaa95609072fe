import DalstonCore
public import Foundation

/// A unit of work for one engine type, as it travels on a queue.
///
/// Versioned: a consumer refuses (dead-letters) a version it does not know instead of guessing.
/// Wire form (JSON): `{"version", "task_id", "job_id", "engine_id", "stage", "attempt", "input",
/// "metadata", "enqueued_at"}`.
public struct TaskEnvelope: Sendable, Equatable, Codable {
    public static let currentVersion = 1

    public var version: Int
    public var taskID: String
    public var jobID: String
    /// The engine type whose queue carries the task, e.g. `audio-prepare`.
    public var engineID: String
    /// The pipeline stage, e.g. `prepare`, `transcribe`, `merge`.
    public var stage: String
    /// 1 for the first try; the orchestrator raises it on retries.
    public var attempt: Int
    /// Engine-specific input (paths, language, options).
    public var input: [String: JSONValue]
    /// Correlation and trace context; see `MessageMetadataKey`.
    public var metadata: [String: String]
    /// Set by the broker when the task is put on a queue (for queue-wait measurements).
    public var enqueuedAt: Date?

    public init(
        taskID: String, jobID: String, engineID: String, stage: String, attempt: Int = 1,
        input: [String: JSONValue] = [:], metadata: [String: String] = [:]
    ) {
        self.version = Self.currentVersion
        self.taskID = taskID
        self.jobID = jobID
        self.engineID = engineID
        self.stage = stage
        self.attempt = attempt
        self.input = input
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case version, stage, attempt, input, metadata
        case taskID = "task_id"
        case jobID = "job_id"
        case engineID = "engine_id"
        case enqueuedAt = "enqueued_at"
    }
}

/// A change in a job's life, published to every interested service.
///
/// Wire form (JSON): `{"version", "type", "job_id", "task_id", "data", "metadata", "emitted_at"}`.
public struct EventEnvelope: Sendable, Equatable, Codable {
    public static let currentVersion = 1

    public var version: Int
    /// `job_created`, `task_completed`, `task_failed`, `job_cancel_requested`, ...
    public var type: String
    public var jobID: String?
    public var taskID: String?
    public var data: [String: JSONValue]
    public var metadata: [String: String]
    public var emittedAt: Date

    public init(
        type: String, jobID: String? = nil, taskID: String? = nil, data: [String: JSONValue] = [:],
        metadata: [String: String] = [:], emittedAt: Date = Date()
    ) {
        self.version = Self.currentVersion
        self.type = type
        self.jobID = jobID
        self.taskID = taskID
        self.data = data
        self.metadata = metadata
        self.emittedAt = emittedAt
    }

    enum CodingKeys: String, CodingKey {
        case version, type, data, metadata
        case jobID = "job_id"
        case taskID = "task_id"
        case emittedAt = "emitted_at"
    }
}

/// JSON coding shared by both brokers: ISO-8601 dates with milliseconds, sorted keys, and a
/// version check, so both produce byte-identical messages.
public enum MessageCoding {
    public static func encode<Message: Encodable>(_ message: Message) throws(BrokerError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.string(date))
        }
        do {
            return Array(try encoder.encode(message))
        } catch {
            throw .invalidMessage("cannot encode \(Message.self): \(error)")
        }
    }

    public static func decodeTask(_ bytes: [UInt8]) throws(BrokerError) -> TaskEnvelope {
        let envelope: TaskEnvelope = try decode(bytes)
        guard envelope.version == TaskEnvelope.currentVersion else {
            throw .invalidMessage("unsupported task envelope version \(envelope.version) (this build reads \(TaskEnvelope.currentVersion))")
        }
        guard !envelope.taskID.isEmpty, !envelope.engineID.isEmpty else {
            throw .invalidMessage("task envelope without task_id or engine_id")
        }
        return envelope
    }

    public static func decodeEvent(_ bytes: [UInt8]) throws(BrokerError) -> EventEnvelope {
        let event: EventEnvelope = try decode(bytes)
        guard event.version == EventEnvelope.currentVersion else {
            throw .invalidMessage("unsupported event envelope version \(event.version) (this build reads \(EventEnvelope.currentVersion))")
        }
        return event
    }

    public static func decodeHeartbeat(_ bytes: [UInt8]) throws(BrokerError) -> WorkerHeartbeat {
        try decode(bytes)
    }

    private static func decode<Message: Decodable>(_ bytes: [UInt8]) throws(BrokerError) -> Message {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = Timestamp.date(text) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO-8601 date: \(text)"))
        }
        do {
            return try decoder.decode(Message.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .invalidMessage("undecodable \(Message.self): \(describe(error))")
        } catch {
            throw .invalidMessage("undecodable \(Message.self): \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context): return "corrupt data at \(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context): return "missing \"\(key.stringValue)\" at \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at \(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.isEmpty ? "the top level" : context.codingPath.map(\.stringValue).joined(separator: ".")
    }
}
