import NIOCore

/// Commands written together, answered together: the unit of pipelining.
struct RedisRequest: Sendable {
    let commands: [RedisCommand]
    /// Completed with one result per command, in order; `nil` in subscriber mode.
    let promise: EventLoopPromise<[Result<RESPValue, RedisError>]>?
    /// How long the replies may take; the handler fails the request and closes the connection
    /// after it (a late reply would be paired with the wrong command).
    let timeout: TimeAmount

    init(commands: [RedisCommand], promise: EventLoopPromise<[Result<RESPValue, RedisError>]>?, timeout: TimeAmount = .hours(24)) {
        self.commands = commands
        self.promise = promise
        self.timeout = timeout
    }
}

/// Matches replies to commands on one connection, in order, so that many commands can be in
/// flight at once (pipelining). A batch of commands is encoded into one buffer, written once and
/// completed by one promise when its last reply arrives.
///
/// In subscriber mode every inbound value (subscription confirmations and messages) goes to the
/// subscriber sink instead, since pub/sub replies do not pair one-to-one with commands.
///
/// Deadlines are kept here, on the event loop, with one timer armed at the earliest of them:
/// a command costs a comparison instead of scheduling and cancelling a task of its own from
/// another thread (two cross-thread wake-ups per command).
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = [RESPValue]
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct PendingBatch {
        var replies: [Result<RESPValue, RedisError>]
        let expected: Int
        let promise: EventLoopPromise<[Result<RESPValue, RedisError>]>
        let deadline: NIODeadline
        /// For the timeout's message: the command, or how many were pipelined.
        let firstCommand: String
        let timeout: TimeAmount

        var timedOutError: RedisError {
            .timedOut(command: expected == 1 ? firstCommand : "a pipeline of \(expected) commands",
                      seconds: Double(timeout.nanoseconds) / 1e9)
        }
    }

    private var pending = CircularBuffer<PendingBatch>(initialCapacity: 16)
    private let subscriberSink: (@Sendable (RESPValue) -> Void)?
    private var failure: RedisError?
    private var deadlineTimer: Scheduled<Void>?
    private var armedDeadline: NIODeadline?

    init(subscriberSink: (@Sendable (RESPValue) -> Void)? = nil) {
        self.subscriberSink = subscriberSink
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.promise?.fail(failure)
            promise?.fail(failure)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: request.commands.reduce(0) { $0 + $1.encodedSizeEstimate })
        for command in request.commands { command.encode(into: &buffer) }
        if let replyPromise = request.promise, !request.commands.isEmpty {
            var replies: [Result<RESPValue, RedisError>] = []
            replies.reserveCapacity(request.commands.count)
            let deadline = NIODeadline.now() + request.timeout
            pending.append(PendingBatch(
                replies: replies, expected: request.commands.count, promise: replyPromise, deadline: deadline,
                firstCommand: request.commands[0].name, timeout: request.timeout))
            armDeadlineTimer(context: context, at: deadline)
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        for value in unwrapInboundIn(data) {
            if let subscriberSink {
                subscriberSink(value)
            } else if !complete(with: value, context: context) {
                return
            }
        }
    }

    /// Adds one reply to the oldest batch; `false` when the connection had to be failed.
    private func complete(with value: RESPValue, context: ChannelHandlerContext) -> Bool {
        if case .push = value { return true }  // RESP3 out-of-band data on a command connection: not ours
        guard !pending.isEmpty else {
            failAll(.protocolViolation("a reply arrived with no command waiting for it"), context: context)
            return false
        }
        // In place: reading `pending[index]` and writing it back would copy the batch's replies
        // on every reply (the array is shared while the copy exists).
        let isComplete = pending.modify(pending.startIndex) { batch -> Bool in
            if case .error(let message) = value {
                batch.replies.append(.failure(.server(message)))
            } else {
                batch.replies.append(.success(value))
            }
            return batch.replies.count == batch.expected
        }
        if isComplete {
            let batch = pending.removeFirst()
            batch.promise.succeed(batch.replies)
        }
        return true
    }

    /// Arms the timer for `deadline` unless it already fires no later than that.
    private func armDeadlineTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        if let armedDeadline, armedDeadline <= deadline { return }
        deadlineTimer?.cancel()
        armedDeadline = deadline
        let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadlineTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = handler.value
            handler.deadlineReached(context: context)
        }
    }

    /// Fails the first overdue request with its timeout and closes the connection (failing the
    /// rest); otherwise re-arms for the earliest deadline still pending.
    private func deadlineReached(context: ChannelHandlerContext) {
        deadlineTimer = nil
        armedDeadline = nil
        let now = NIODeadline.now()
        if let overdue = pending.firstIndex(where: { $0.deadline <= now }) {
            let batch = pending.remove(at: overdue)
            batch.promise.fail(batch.timedOutError)
            failAll(.connectionClosed, context: context)
        } else if let earliest = pending.lazy.map(\.deadline).min() {
            armDeadlineTimer(context: context, at: earliest)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let violation = error as? RESPProtocolError {
            failAll(.protocolViolation(violation.reason), context: context)
        } else {
            failAll(.connectionClosed, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(.connectionClosed, context: context)
        context.fireChannelInactive()
    }

    /// Fails every command in flight and closes the connection: after an error the pairing of
    /// replies to commands cannot be trusted.
    func failAll(_ error: RedisError, context: ChannelHandlerContext) {
        if failure == nil { failure = error }
        deadlineTimer?.cancel()
        deadlineTimer = nil
        armedDeadline = nil
        while let batch = pending.popFirst() {
            batch.promise.fail(error)
        }
        context.close(promise: nil)
    }
}
