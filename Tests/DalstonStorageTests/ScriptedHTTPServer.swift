import NIOCore
import NIOHTTP1
import NIOPosix

/// A loopback HTTP server whose answers a test scripts by path (redirects, big bodies, slow
/// bodies), for the guarded client's tests.
final class ScriptedHTTPServer: Sendable {
    struct Reply: Sendable {
        var status: HTTPResponseStatus = .ok
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        /// Pieces of `body` are sent this far apart (a slow server).
        var pause: Duration = .zero
    }

    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(host: String = "127.0.0.1", reply: @escaping @Sendable (String) -> Reply) async throws -> ScriptedHTTPServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.pipeline.configureHTTPServerPipeline().flatMap {
                    child.pipeline.addHandler(Handler(reply: reply))
                }
            }
            .bind(host: host, port: 0).get()
        return ScriptedHTTPServer(port: channel.localAddress?.port ?? 0, channel: channel)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let reply: @Sendable (String) -> Reply
        private var path = "/"

        init(reply: @escaping @Sendable (String) -> Reply) {
            self.reply = reply
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): path = head.uri
            case .body: break
            case .end:
                let answer = reply(path)
                var headers = HTTPHeaders(answer.headers)
                headers.replaceOrAdd(name: "Content-Length", value: "\(answer.body.count)")
                headers.replaceOrAdd(name: "Connection", value: "close")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
                let loop = context.eventLoop
                let bound = NIOLoopBound(context, eventLoop: loop)
                let pieces = answer.pause == .zero ? [answer.body] : stride(from: 0, to: answer.body.count, by: 1024).map { Array(answer.body[$0..<min($0 + 1024, answer.body.count)]) }
                func send(_ index: Int) {
                    let context = bound.value
                    guard index < pieces.count else {
                        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
                        return
                    }
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: pieces[index])))), promise: nil)
                    let delay = answer.pause.components
                    loop.scheduleTask(in: .nanoseconds(delay.seconds * 1_000_000_000 + delay.attoseconds / 1_000_000_000)) { send(index + 1) }
                }
                send(0)
            }
        }
    }
}
