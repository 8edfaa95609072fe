import NIOCore

/// Commands written together, answered together: the unit of pipelining.
struct RedisRequest: Sendable {
    let commands: [RedisCommand]
    /// Completed with one result per command, in order; `nil` in subscriber mode.
    let promise: EventLoopPromise<[Result<RESPValue, RedisError>]>?
}

/// Matches replies to commands on one connection, in order, so that many commands can be in
/// flight at once (pipelining). A batch of commands is encoded into one buffer, written once and
/// completed by one promise when its last reply arrives.
///
/// In subscriber mode every inbound value (subscription confirmations and messages) goes to the
/// subscriber sink instead, since pub/sub replies do not pair one-to-one with commands.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = [RESPValue]
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct PendingBatch {
        var replies: [Result<RESPValue, RedisError>]
        let expected: Int
        let promise: EventLoopPromise<[Result<RESPValue, RedisError>]>
    }

    private var pending = CircularBuffer<PendingBatch>(initialCapacity: 16)
    private let subscriberSink: (@Sendable (RESPValue) -> Void)?
    private var failure: RedisError?

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
            pending.append(PendingBatch(replies: replies, expected: request.commands.count, promise: replyPromise))
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
        let index = pending.startIndex
        if case .error(let message) = value {
            pending[index].replies.append(.failure(.server(message)))
        } else {
            pending[index].replies.append(.success(value))
        }
        if pending[index].replies.count == pending[index].expected {
            let batch = pending.removeFirst()
            batch.promise.succeed(batch.replies)
        }
        return true
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
        while let batch = pending.popFirst() {
            batch.promise.fail(error)
        }
        context.close(promise: nil)
    }
}
