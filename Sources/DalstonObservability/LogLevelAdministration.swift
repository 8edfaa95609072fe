import DalstonCore
package import DalstonLogging
import Foundation
package import Hummingbird
package import Logging
import NIOCore
import Synchronization

/// Changes this process's log levels while it runs, from an authenticated admin endpoint or a
/// broadcast on the broker, optionally for a while (then the change reverts by itself). Every
/// change and revert is logged (`log_level_changed`, `log_level_reverted`).
package final class LogLevelAdministration: Sendable {
    /// A requested change: `level` for every logger, or for those under `logger` (a label
    /// prefix), for `durationSeconds` (nil: until changed again).
    package struct ChangeRequest: Codable, Sendable, Equatable {
        package var level: String
        package var logger: String?
        package var durationSeconds: Double?

        package init(level: String, logger: String? = nil, durationSeconds: Double? = nil) {
            self.level = level
            self.logger = logger
            self.durationSeconds = durationSeconds
        }

        enum CodingKeys: String, CodingKey {
            case level, logger
            case durationSeconds = "duration_seconds"
        }
    }

    /// Why a request cannot be applied, in words for the one who sent it.
    package struct Invalid: Error, CustomStringConvertible {
        package let description: String
    }

    package let controller: LogLevelController
    private let logger: Logger
    private let reverts = Mutex<[UInt64: Task<Void, Never>]>([:])
    /// Changes in effect, oldest first (what `reset` undoes).
    private let applied = Mutex<[LogLevelController.Change]>([])

    package init(controller: LogLevelController, logger: Logger = Logger(label: "dalston.logging")) {
        self.controller = controller
        self.logger = logger
    }

    /// The administration of the process's own logging (nil before logging is configured).
    package static var process: LogLevelAdministration? { processAdministration }

    private static let processAdministration: LogLevelAdministration? = DalstonLogging.pipeline.map {
        LogLevelAdministration(controller: $0.levelController)
    }

    @discardableResult
    package func apply(_ request: ChangeRequest, source: String) throws(Invalid) -> LogLevelController.Change {
        guard let level = Logger.Level(name: request.level) else {
            throw Invalid(description: "\"\(request.level.prefix(32))\" is not a log level; use trace, debug, info, notice, warning, error or critical")
        }
        if let prefix = request.logger, prefix.isEmpty || prefix.count > 200 || prefix.contains(where: { $0.isWhitespace || $0 == "=" || $0 == "," }) {
            throw Invalid(description: "logger must be a logger-label prefix such as dalston.orchestrator")
        }
        if let seconds = request.durationSeconds, !(seconds > 0 && seconds <= 7 * 86_400) {
            throw Invalid(description: "duration_seconds must be more than 0 and at most a week")
        }
        let change = controller.set(level, forLabelPrefix: request.logger)
        applied.withLock { $0.append(change) }
        logger.notice("log_level_changed", metadata: [
            "level": "\(level)", "logger_prefix": "\(change.labelPrefix ?? "*")", "previous_level": "\(change.previous.map { "\($0)" } ?? "inherited")",
            "duration_seconds": request.durationSeconds.map { .stringConvertible($0) } ?? "until changed", "source": "\(source)",
        ])
        if let seconds = request.durationSeconds {
            let task = Task { [weak self] in
                try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                guard !Task.isCancelled else { return }
                self?.revert(change, reason: "expired")
            }
            reverts.withLock { $0[change.id] = task }
        }
        return change
    }

    /// Reverts a change (no-op when a later change replaced it); logged.
    package func revert(_ change: LogLevelController.Change, reason: String) {
        reverts.withLock { $0.removeValue(forKey: change.id)?.cancel() }
        applied.withLock { $0.removeAll { $0.id == change.id } }
        if controller.revert(change) {
            logger.notice("log_level_reverted", metadata: [
                "logger_prefix": "\(change.labelPrefix ?? "*")", "level": "\(change.previous.map { "\($0)" } ?? "inherited")", "reason": "\(reason)",
            ])
        }
    }

    /// Undoes every change still in effect, newest first: back to `LOG_LEVEL`.
    package func reset(source: String) {
        let changes = applied.withLock { $0 }
        for change in changes.reversed() { revert(change, reason: "reset by \(source)") }
    }

    /// What the levels are now: the default and each override.
    package var current: [String: String] {
        let policy = controller.policy
        var levels = ["*": "\(policy.defaultLevel)"]
        for override in policy.overrides { levels[override.labelPrefix] = "\(override.level)" }
        return levels
    }

    /// Cancels pending reverts (on shutdown).
    package func cancelReverts() {
        let tasks = reverts.withLock { tasks in
            defer { tasks.removeAll() }
            return Array(tasks.values)
        }
        for task in tasks { task.cancel() }
    }
}

extension LogLevelAdministration {
    /// `GET`/`PUT /admin/log-level` on `router`, for `Authorization: Bearer <token>` only. Without
    /// a configured token the endpoint refuses every change (403): levels are an operator's lever.
    package func addRoutes<Context: RequestContext>(to router: Router<Context>, token: String?) {
        router.get("/admin/log-level") { request, _ -> Response in
            if let refusal = Self.refusal(request, token: token) { return refusal }
            return Self.json(.ok, LevelsAnswer(levels: self.current, changeID: nil))
        }
        router.put("/admin/log-level") { request, _ -> Response in
            if let refusal = Self.refusal(request, token: token) { return refusal }
            let body = try await request.body.collect(upTo: 16 * 1024)
            guard let parsed = try? JSONDecoder().decode(ChangeRequest.self, from: Data(body.readableBytesView)) else {
                return Self.json(.badRequest, Refusal(message: #"send JSON {"level": "debug", "logger": "dalston.redis", "duration_seconds": 600}"#))
            }
            do {
                let change = try self.apply(parsed, source: "admin_http")
                return Self.json(.ok, LevelsAnswer(levels: self.current, changeID: change.id))
            } catch {
                return Self.json(.badRequest, Refusal(message: "\(error)"))
            }
        }
    }

    private static func refusal(_ request: Request, token: String?) -> Response? {
        guard let token, !token.isEmpty else {
            return json(.forbidden, ["error": ["code": "admin_disabled", "message": "set DALSTON_ADMIN_TOKEN to change log levels over HTTP"]])
        }
        let given = request.headers[.authorization].flatMap { $0.lowercased().hasPrefix("bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard ConstantTime.equals(given, token) else {
            return json(.unauthorized, ["error": ["code": "unauthorized", "message": "send Authorization: Bearer <DALSTON_ADMIN_TOKEN>"]])
        }
        return nil
    }

    private static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"levels": {prefix: level}, "change_id"?}`.
    struct LevelsAnswer: Encodable {
        let levels: [String: String]
        let changeID: UInt64?

        enum CodingKeys: String, CodingKey {
            case levels
            case changeID = "change_id"
        }
    }

    /// Dalston's error body: `{"error": {"code": "invalid_request", "message"}}`.
    struct Refusal: Encodable {
        struct Detail: Encodable {
            var code = "invalid_request"
            let message: String
        }

        let error: Detail

        init(message: String) {
            error = Detail(message: message)
        }
    }
}
