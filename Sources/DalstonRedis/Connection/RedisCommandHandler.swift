import NIOCore

/// Matches replies to commands on one connection, in order, so that many commands can be in
/// flight at once (pipelining).
///
/// In subscriber mode every inbound value (subscription confirmations and messages) goes to the
/// subscriber sink instead, since pub/sub replies do not pair one-to-one with commands.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = (RedisCommand, EventLoopPromise<RESPValue>?)
    typealias OutboundOut = RedisCommand

    private var pending = CircularBuffer<EventLoopPromise<RESPValue>>(initialCapacity: 16)
    private let subscriberSink: (@Sendable (RESPValue) -> Void)?
    private var failure: RedisError?

    init(subscriberSink: (@Sendable (RESPValue) -> Void)? = nil) {
        self.subscriberSink = subscriberSink
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let (command, replyPromise) = unwrapOutboundIn(data)
        if let failure {
            replyPromise?.fail(failure)
            promise?.fail(failure)
            return
        }
        if let replyPromise { pending.append(replyPromise) }
        context.write(wrapOutboundOut(command), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if let subscriberSink {
            subscriberSink(value)
            return
        }
        if case .push = value { return }  // RESP3 out-of-band data on a command connection: not ours
        guard let promise = pending.popFirst() else {
            failAll(.protocolViolation("a reply arrived with no command waiting for it"), context: context)
            return
        }
        if case .error(let message) = value {
            promise.fail(RedisError.server(message))
        } else {
            promise.succeed(value)
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
        while let promise = pending.popFirst() {
            promise.fail(error)
        }
        context.close(promise: nil)
    }
}
