import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// The gateway's child channel: HTTP/1 with WebSocket upgrade, plus a deadline for the first
/// request's headers and the real answer to a refused upgrade (`UpgradeRefusalHandler`). The upgradable pipeline only installs the idle timeout once it knows the
/// first request is not an upgrade, so without this a client that connects and sends nothing
/// (or half a header) would hold its connection forever.
struct FirstRequestDeadlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base
    let deadline: TimeAmount
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(FirstRequestHeadDeadlineHandler(deadline: deadline, logger: self.logger), position: .after(decoder))
            try operations.addHandler(UpgradeRefusalHandler(), position: .after(decoder))
            return value
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes the connection when no complete request head arrived within the deadline; removes
/// itself at the first head (from then on the HTTP idle timeout or the WebSocket takes over).
final class FirstRequestHeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let deadline: TimeAmount
    private let logger: Logger
    private var timer: Scheduled<Void>?

    init(deadline: TimeAmount, logger: Logger) {
        self.deadline = deadline
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let logger = logger
        timer = context.eventLoop.scheduleTask(in: deadline) {
            logger.debug("connection_closed", metadata: ["reason": "no request headers within the idle timeout"])
            // Told as the peer's end of input first: the upgrade handler then ends its wait for
            // a request quietly. Closed outright, it failed that wait as an error, and
            // Hummingbird logged one error line per such connection, with nothing to say who.
            bound.value.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            bound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let isHead = if case .head = unwrapInboundIn(data) { true } else { false }
        context.fireChannelRead(data)
        if isHead {
            timer?.cancel()
            timer = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}
