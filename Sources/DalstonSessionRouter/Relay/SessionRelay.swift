import DalstonCore
import DalstonLogging
package import DalstonMetrics
import DalstonPropagation
package import DalstonRealtime
import Foundation
import HTTPTypes
package import HummingbirdWSClient
import HummingbirdWebSocket
package import Logging
import NIOCore
import Synchronization
import Tracing

/// The realtime sessions of a gateway: for each client connection it opens the session in the
/// client's dialect, reserves a worker through the router, connects to the worker (correlation
/// and trace context in the upgrade's headers, as the batch path carries them in its messages)
/// and relays both ways (translating), and on every way out (end, client gone, idle, worker
/// lost) finishes the session, records it (the only writer of the record while it runs) and
/// releases the slot. The gateway only adapts its WebSocket connections to it.
package struct SessionRelay: Sendable {
    package struct Options: Sendable {
        /// Largest WebSocket message a client may send.
        package var maximumFrameBytes = 1 << 20
        /// Largest message the WebSocket layer reads at all: larger ones are closed with 1009
        /// before the relay sees them, with no room for the dialect's `frame_too_large` error, so
        /// this is well above the limit (16 MiB, or four times a larger limit).
        package var transportFrameBytes: Int { Self.transportFrameBytes(limit: maximumFrameBytes) }

        package static func transportFrameBytes(limit: Int) -> Int { max(16 << 20, 4 * limit) }
        /// A client that sends nothing for this long gets `session_timeout`.
        package var idleTimeout: Duration = .seconds(30)
        /// How long the worker may take to finish a session its client left.
        package var endWait: Duration = .seconds(10)
        /// How long a worker may take to accept the connection before another is tried.
        package var connectTimeout: Duration = .seconds(5)
        /// Audio (seconds at the client's rate) in flight to the worker before the relay stops
        /// reading from the client until the worker has decoded some (back-pressure).
        package var audioWindowSeconds = 2.0
        /// How long the relay waits for the worker to acknowledge any audio while the window is
        /// full before it takes the worker for lost.
        package var workerPatience: Duration = .seconds(60)
        /// The model a session names (`settings.model`: as its dialect named it; empty: none),
        /// as the id of an installed model that serves its language, or the dialect's error
        /// (`model_not_available`, `language_not_supported`). Unset: passed on as named, for
        /// the worker to check.
        package var resolveModel: (@Sendable (SessionSettings, RealtimeProtocol) -> Result<String, RealtimeError>)?

        package init() {}
    }

    let router: SessionRouter
    let records: any RealtimeSessionArchive
    let options: Options
    let instruments: Instruments
    let connections = RealtimeConnectionCounts()
    let logger: Logger

    package init(router: SessionRouter, records: any RealtimeSessionArchive, options: Options, instruments: Instruments, logger: Logger) {
        self.router = router
        self.records = records
        self.options = options
        self.instruments = instruments
        self.logger = logger
    }

    /// Whether the credential a session was opened with still holds: asked every `interval`
    /// while the session runs; an error (`key_revoked`, `key_expired`) ends the session with it
    /// in the client's dialect and close code 4401. What the worker transcribed is kept.
    package struct Authority: Sendable {
        package var interval: Duration
        package let check: @Sendable () async -> RealtimeError?

        package init(interval: Duration = .seconds(1), check: @escaping @Sendable () async -> RealtimeError?) {
            self.interval = interval
            self.check = check
        }
    }

    /// A worker that did not answer is skipped; after this many tries the client gets `no_capacity`.
    static let maximumAttempts = 3

    /// Serves one client connection of `kind` until the session ends. `query` is the client's
    /// query string; `traceContext` its `traceparent` and `tracestate`, if it sent them.
    package func serve(
        _ kind: RealtimeProtocol, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, query: [String: String],
        traceContext: [String: String], requestID: String, clientKey: String?, tenantID: String? = nil, authority: Authority? = nil
    ) async {
        let sessionID = SessionRouter.newSessionID()
        await withLogContext(["request_id": "\(requestID)", "session_id": "\(sessionID)"]) {
            instruments.gauge(DalstonMetric.websocketConnections, [("protocol", kind.rawValue)]).record(connections.opened(kind))
            defer { instruments.gauge(DalstonMetric.websocketConnections, [("protocol", kind.rawValue)]).record(connections.closed(kind)) }
            var parent = ServiceContext.current ?? .topLevel
            if let traceparent = traceContext[MessageMetadataKey.traceparent], TraceParent.problem(traceparent) == nil {
                (parent, _) = MessageTracing.extract(from: traceContext, base: parent)
            }
            await withTracedSpan("gateway.realtime_session", context: parent, ofKind: .server) { span in
                span.attributes["dalston.session_id"] = sessionID
                span.attributes["dalston.request_id"] = requestID
                span.attributes["dalston.protocol"] = kind.rawValue
                await run(
                    kind, sessionID: sessionID, requestID: requestID, clientKey: clientKey, tenantID: tenantID, authority: authority, inbound: inbound,
                    outbound: outbound, query: query, span: span)
            }
        }
    }

    private func run(
        _ kind: RealtimeProtocol, sessionID: String, requestID: String, clientKey: String?, tenantID: String?, authority: Authority?, inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter, query: [String: String], span: any Span
    ) async {
        var settings: SessionSettings
        let dialect: any RealtimeDialect
        do {
            (settings, dialect) = try kind.open(query: query, sessionID: sessionID)
        } catch {
            await refuse(kind, outbound, RealtimeError(code: "invalid_parameters", message: error.description, recoverable: false), close: 4400, reason: "Invalid parameters")
            return
        }
        if let resolveModel = options.resolveModel {
            switch resolveModel(settings, kind) {
            case .success(let model):
                settings.model = model
            case .failure(let error):
                await refuse(kind, outbound, error, close: 4400, reason: error.code == "language_not_supported" ? "Language not supported" : "Model not available")
                return
            }
        }
        logger.info("realtime_connection_accepted", metadata: [
            "protocol": "\(kind.rawValue)", "encoding": "\(settings.encoding.rawValue)", "sample_rate": "\(settings.sampleRate)",
            "language": "\(settings.language)", "model": "\(settings.model)",
        ])
        if let openAI = dialect as? OpenAIDialect { try? await outbound.write(.text(openAI.created())) }
        var excluded: Set<String> = []
        for _ in 0..<Self.maximumAttempts {
            let outcome: AllocationOutcome
            do {
                outcome = try await router.allocate(sessionID: sessionID, clientKey: clientKey, model: settings.model, excluding: excluded)
            } catch {
                await refuse(kind, outbound, RealtimeError(code: "no_capacity", message: "realtime sessions are unavailable right now; retry shortly", recoverable: false), close: 4503, reason: "No capacity")
                return
            }
            switch outcome {
            case .keyLimitReached(let limit):
                await refuse(kind, outbound, RealtimeError(
                    code: "rate_limit_exceeded", message: "this API key has \(limit) realtime sessions open already; close one or retry later",
                    recoverable: false), close: 4429, reason: "Rate limit exceeded")
                return
            case .noCapacity:
                await refuse(kind, outbound, RealtimeError(
                    code: "no_capacity", message: "no realtime worker has a free slot; retry shortly", recoverable: false), close: 4503, reason: "No capacity")
                return
            case .allocated(let allocation):
                span.attributes["dalston.worker_id"] = allocation.workerID
                var record = RealtimeSessionRecord(
                    id: sessionID, protocolName: kind.rawValue, language: settings.language, model: settings.model.isEmpty ? nil : settings.model, requestID: requestID)
                record.workerID = allocation.workerID
                record.tenantID = tenantID
                await save(record)
                let ending = await relay(
                    to: allocation, settings: settings, dialect: dialect, requestID: requestID, authority: authority, inbound: inbound, outbound: outbound)
                guard let ending else {
                    // The worker could not be reached: the session never began there. Give the
                    // slot back, forget the record, and try another worker.
                    try? await records.delete(sessionID)
                    await router.release(sessionID: sessionID, status: nil)
                    await router.markOffline(workerID: allocation.workerID, reason: "connection refused or timed out")
                    excluded.insert(allocation.workerID)
                    continue
                }
                record.status = ending.status
                record.endedAt = Date()
                record.error = ending.error
                if let summary = ending.summary {
                    record.audioDurationSeconds = summary.totalAudioSeconds
                    record.speechDurationSeconds = summary.totalSpeechDuration
                    record.transcript = summary.transcript
                    record.segments = summary.segments
                    record.segmentCount = summary.segments.count
                    record.wordCount = summary.transcript.split(separator: " ").count
                }
                span.attributes["dalston.session_status"] = ending.status
                // Cleanup runs to the end even when the connection's task is being cancelled.
                await Task { [record] in
                    await save(record)
                    await router.release(sessionID: sessionID, status: ending.status)
                }.value
                try? await outbound.close(ending.summary != nil ? .normalClosure : .unexpectedServerError, reason: nil)
                logger.info("realtime_session_finished", metadata: [
                    "status": "\(ending.status)", "audio_seconds": "\(record.audioDurationSeconds)", "segments": "\(record.segmentCount)",
                    "worker_id": "\(allocation.workerID)",
                ])
                return
            }
        }
        await refuse(kind, outbound, RealtimeError(code: "no_capacity", message: "no realtime worker could be reached; retry shortly", recoverable: false), close: 4503, reason: "No capacity")
    }

    private func save(_ record: RealtimeSessionRecord) async {
        do {
            try await records.save(record)
        } catch {
            logger.error("realtime_session_record_failed", metadata: ["error": "\(error)"])
        }
    }

    /// An error in the client's dialect, then the close code that says why.
    private func refuse(_ kind: RealtimeProtocol, _ outbound: WebSocketOutboundWriter, _ error: RealtimeError, close code: UInt16, reason: String) async {
        logger.warning("realtime_session_refused", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
        instruments.increment(DalstonMetric.routerSessions, [("status", error.code == "no_capacity" ? "no_capacity" : "rejected")])
        await kind.refuse(outbound, error, close: code, reason: reason)
    }

    // MARK: Relaying

    struct Ending: Sendable {
        var status: String
        var summary: SessionSummary?
        var error: String?
    }

    /// Relays until the session ends; nil when the worker could not be reached at all.
    private func relay(
        to allocation: SessionAllocation, settings: SessionSettings, dialect: any RealtimeDialect, requestID: String, authority: Authority?,
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter
    ) async -> Ending? {
        // The session's settings in the query; who asked and the trace in the headers, as every
        // message of the batch path carries them (`SessionCorrelation`).
        let url = allocation.endpoint + "/session?" + Self.encode(Dictionary(settings.query, uniquingKeysWith: { $1 }))
        let headers = Self.upgradeHeaders(requestID: requestID, sessionID: allocation.sessionID)
        let bytesPerSecond = Double(settings.sampleRate * settings.encoding.bytesPerSample)
        let state = RelayState(dialect: dialect, window: AudioWindow(limit: max(1, Int(options.audioWindowSeconds * bytesPerSecond))))
        let relay = self
        let connectTimeout = options.connectTimeout
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try await WebSocketClient.connect(
                        url: url,
                        // No pings: a worker busy decoding reads its next frame (and would answer a
                        // ping) only when done; the audio window and the connection itself say
                        // whether it is alive.
                        configuration: .init(maxFrameSize: 16 << 20, additionalHeaders: headers, autoPing: .disabled),
                        logger: Logger(label: "dalston.gateway.realtime.client")
                    ) { workerInbound, workerOutbound, _ in
                        state.markConnected()
                        await relay.pump(
                            sessionID: allocation.sessionID, state: state, authority: authority, client: (inbound, outbound),
                            worker: (workerInbound, workerOutbound))
                    }
                }
                group.addTask {
                    // Told when the worker accepts, or gives up at the deadline.
                    guard await state.connected(within: connectTimeout) else { throw WorkerUnreachable(timeout: connectTimeout) }
                }
                for try await _ in group {}
            }
        } catch {
            if !state.isConnected {
                logger.warning("realtime_worker_unreachable", metadata: ["worker_id": "\(allocation.workerID)", "error": "\(error)"])
                return nil
            }
            logger.warning("realtime_worker_connection_failed", metadata: ["worker_id": "\(allocation.workerID)", "error": "\(error)"])
        }
        return state.ending
    }

    static func upgradeHeaders(requestID: String, sessionID: String) -> HTTPFields {
        var headers = HTTPFields()
        for (name, value) in SessionCorrelation.headers(requestID: requestID, sessionID: sessionID) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return headers
    }

    struct WorkerUnreachable: Error, CustomStringConvertible {
        let timeout: Duration
        var description: String { "no WebSocket to the worker within \(timeout.seconds) s" }
    }

    private func pump(
        sessionID: String, state: RelayState, authority: Authority?, client: (WebSocketInboundStream, WebSocketOutboundWriter),
        worker: (WebSocketInboundStream, WebSocketOutboundWriter)
    ) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await clientToWorker(state: state, client: client, worker: worker) }
            group.addTask { await watchIdleness(state: state, client: client.1, worker: worker.1) }
            if let authority { group.addTask { await watchAuthority(authority, state: state, client: client.1, worker: worker.1) } }
            group.addTask { await router.keepAlive(sessionID: sessionID) }
            await workerToClient(state: state, client: client.1, worker: worker.0)
            group.cancelAll()
        }
    }

    private func clientToWorker(
        state: RelayState, client: (WebSocketInboundStream, WebSocketOutboundWriter), worker: (WebSocketInboundStream, WebSocketOutboundWriter)
    ) async {
        let (clientInbound, clientOutbound) = client
        let workerOutbound = worker.1
        var iterator = clientInbound.messages(maxSize: options.transportFrameBytes).makeAsyncIterator()
        do {
            while let message = try await iterator.next() {
                state.touch()
                let size = switch message {
                case .text(let text): text.utf8.count
                case .binary(let buffer): buffer.readableBytes
                }
                guard size <= options.maximumFrameBytes else {
                    logger.warning("realtime_frame_too_large", metadata: ["bytes": "\(size)", "limit": "\(options.maximumFrameBytes)"])
                    state.finish(status: "error", error: "frame_too_large")
                    try? await clientOutbound.write(.text(state.errorFrame(RealtimeError(
                        code: "frame_too_large", message: "a message may hold at most \(options.maximumFrameBytes) bytes; send audio in smaller frames",
                        recoverable: false))))
                    // The client's close first: once the worker has its `end` it answers and
                    // closes, the relay ends and cancels this task, and a close cancelled half
                    // way leaves the connection closing without a close frame (the client then
                    // waited for the server's 15 s close timeout and saw no 1009).
                    try? await clientOutbound.close(.messageTooLarge, reason: "Message too large")
                    try? await workerOutbound.write(.text(ClientMessage.end.json))
                    return
                }
                let output = state.translate(message)
                for frame in output.toClient { try? await clientOutbound.write(.text(frame)) }
                for command in output.toWorker {
                    switch command {
                    case .audio(let bytes):
                        guard await state.window.reserve(bytes.count, patience: options.workerPatience) else {
                            // Cancelled: the session is ending for another reason.
                            if !Task.isCancelled { await workerStalled(state: state, client: clientOutbound, worker: workerOutbound) }
                            return
                        }
                        try await workerOutbound.write(.binary(ByteBuffer(bytes: bytes)))
                    case .control(let control):
                        if control == .end { state.markEndSent() }
                        try await workerOutbound.write(.text(control.json))
                    }
                }
            }
        } catch is CancellationError {
            return
        } catch {
            logger.debug("realtime_client_read_failed", metadata: ["error": "\(error)"])
        }
        guard !Task.isCancelled else { return }
        // The client left. Without its `end`, finish the session for it and keep what the worker
        // sends back for the record (not longer than the end wait).
        if state.clientLeft() {
            logger.info("realtime_client_disconnected", metadata: ["sent_end": "false"])
            try? await workerOutbound.write(.text(ClientMessage.end.json))
        }
        try? await Task.sleep(for: options.endWait)
        guard !Task.isCancelled else { return }
        logger.warning("realtime_session_end_timeout", metadata: ["waited_seconds": "\(options.endWait.seconds)"])
        try? await workerOutbound.close(.goingAway, reason: "Client gone")
    }

    /// The worker acknowledged no audio for `workerPatience` while the window was full.
    private func workerStalled(state: RelayState, client: WebSocketOutboundWriter, worker: WebSocketOutboundWriter) async {
        logger.error("realtime_worker_stalled", metadata: [
            "waited_seconds": "\(options.workerPatience.seconds)", "bytes_in_flight": "\(state.window.inFlight)",
        ])
        state.finish(status: "error", error: "worker_lost")
        try? await client.write(.text(state.errorFrame(RealtimeError(
            code: "worker_lost", message: "the realtime worker stopped decoding this session; reconnect to start a new one", recoverable: false))))
        try? await worker.close(.goingAway, reason: "Worker stalled")
    }

    private func watchIdleness(state: RelayState, client: WebSocketOutboundWriter, worker: WebSocketOutboundWriter) async {
        let timeout = options.idleTimeout
        let step = min(Duration.seconds(1), timeout / 4)
        while !Task.isCancelled {
            try? await Task.sleep(for: step)
            guard !Task.isCancelled else { return }
            if state.idle(longerThan: timeout) {
                logger.warning("realtime_session_idle", metadata: ["idle_timeout_seconds": "\(timeout.seconds)"])
                try? await client.write(.text(state.errorFrame(RealtimeError(
                    code: "session_timeout", message: "no audio or message for \(timeout.seconds) s; the session ends", recoverable: false))))
                try? await worker.write(.text(ClientMessage.end.json))
                return
            }
        }
    }

    /// Ends the session once its credential no longer holds (revoked or expired key): the
    /// client gets the dialect's auth error and close 4401 at once; the worker gets `end`, and
    /// what it transcribed is still recorded.
    private func watchAuthority(_ authority: Authority, state: RelayState, client: WebSocketOutboundWriter, worker: WebSocketOutboundWriter) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: authority.interval)
            guard !Task.isCancelled else { return }
            guard let refusal = await authority.check() else { continue }
            logger.warning("realtime_session_unauthorized", metadata: ["code": "\(refusal.code)", "reason": "\(refusal.message)"])
            state.finish(status: "error", error: refusal.code)
            try? await client.write(.text(state.errorFrame(refusal)))
            try? await client.close(.unknown(4401), reason: "Unauthorized")
            try? await worker.write(.text(ClientMessage.end.json))
            return
        }
    }

    private func workerToClient(state: RelayState, client: WebSocketOutboundWriter, worker: WebSocketInboundStream) async {
        var iterator = worker.messages(maxSize: 16 << 20).makeAsyncIterator()
        do {
            while let message = try await iterator.next() {
                if case .text(let text) = message, let progress = WorkerProgress.parse(text) {
                    state.window.acknowledge(progress.audioBytes)
                    state.touch()
                    continue
                }
                guard case .text(let text) = message, let event = try? RealtimeEvent.parse(text) else {
                    logger.warning("realtime_worker_message_unreadable")
                    continue
                }
                for frame in state.translate(event) { try? await client.write(.text(frame)) }
                if case .sessionEnd = event { return }
            }
        } catch {
            logger.debug("realtime_worker_read_failed", metadata: ["error": "\(error)"])
        }
        if !state.hasSummary && !state.hasClientLeft {
            logger.error("realtime_worker_lost", metadata: ["reason": "the worker's connection ended before session.end"])
            state.finish(status: "error", error: "worker_lost")
            try? await client.write(.text(state.errorFrame(RealtimeError(
                code: "worker_lost", message: "the realtime worker stopped during the session; reconnect to start a new one", recoverable: false))))
        }
    }

    // MARK: Query strings

    static func encode(_ query: [String: String]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return query.sorted { $0.key < $1.key }.map { name, value in
            "\(name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }
}

/// What the two directions of a relay share: the dialect (its item ids), whether `end` went to
/// the worker, the last client activity, and how the session ended.
final class RelayState: Sendable {
    private struct Inner {
        var dialect: any RealtimeDialect
        var connected = false
        var endSent = false
        var clientLeft = false
        var lastActivity = ContinuousClock.now
        var status: String?
        var error: String?
        var summary: SessionSummary?
    }

    private let inner: Mutex<Inner>
    /// Fired when the worker accepts (`connected(within:)` waits on it).
    private let accepted = OnceSignal()
    /// The session's audio in flight to the worker.
    let window: AudioWindow

    init(dialect: any RealtimeDialect, window: AudioWindow) {
        inner = Mutex(Inner(dialect: dialect))
        self.window = window
    }

    func markConnected() {
        inner.withLock { $0.connected = true }
        accepted.fire()
    }

    var isConnected: Bool { inner.withLock { $0.connected } }

    /// Whether the worker accepted within `timeout`: told by `markConnected`, no polling.
    func connected(within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.accepted.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let answer = await group.next() ?? false
            group.cancelAll()
            return answer || isConnected
        }
    }

    func touch() { inner.withLock { $0.lastActivity = .now } }
    func markEndSent() { inner.withLock { $0.endSent = true } }
    var hasSummary: Bool { inner.withLock { $0.summary != nil } }
    var hasClientLeft: Bool { inner.withLock { $0.clientLeft } }

    /// Records that the client went away; true when it had not sent `end` (so the relay must).
    func clientLeft() -> Bool {
        inner.withLock { state in
            state.clientLeft = true
            guard !state.endSent else { return false }
            state.endSent = true
            if state.status == nil { state.status = "interrupted" }
            return true
        }
    }

    /// Idle too long (and not already ending): the caller ends the session as timed out.
    func idle(longerThan timeout: Duration) -> Bool {
        inner.withLock { state in
            guard !state.endSent, ContinuousClock.now - state.lastActivity >= timeout else { return false }
            state.endSent = true
            if state.status == nil { state.status = "timeout" }
            return true
        }
    }

    func finish(status: String, error: String?) {
        inner.withLock { state in
            if state.status == nil || state.status == "interrupted" { state.status = status }
            state.error = state.error ?? error
            state.endSent = true
        }
    }

    func translate(_ message: WebSocketMessage) -> DialectOutput {
        inner.withLock { state in
            switch message {
            case .text(let text): state.dialect.clientText(text)
            case .binary(let buffer): state.dialect.clientBinary(Array(buffer.readableBytesView))
            }
        }
    }

    func translate(_ event: RealtimeEvent) -> [String] {
        inner.withLock { state in
            if case .sessionEnd(let summary) = event { state.summary = summary }
            return state.dialect.workerEvent(event)
        }
    }

    func errorFrame(_ error: RealtimeError) -> String {
        inner.withLock { $0.dialect.errorFrame(error) }
    }

    var ending: Ending {
        inner.withLock { state in
            SessionRelay.Ending(status: state.status ?? (state.summary != nil ? "completed" : "error"), summary: state.summary, error: state.error)
        }
    }

    typealias Ending = SessionRelay.Ending
}

/// Open realtime connections per protocol, for the connections gauge.
package final class RealtimeConnectionCounts: Sendable {
    private let counts = Mutex<[RealtimeProtocol: Int]>([:])

    func opened(_ kind: RealtimeProtocol) -> Int { counts.withLock { $0[kind, default: 0] += 1; return $0[kind, default: 0] } }
    func closed(_ kind: RealtimeProtocol) -> Int { counts.withLock { $0[kind, default: 1] -= 1; return $0[kind, default: 0] } }
}
