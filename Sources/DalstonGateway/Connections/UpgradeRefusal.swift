import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import Synchronization

/// Refused WebSocket handshakes keep their real answer. Hummingbird answers every refused
/// upgrade with an empty 400; the gateway wants the client to see why (401 for a missing key,
/// with the usual JSON error). The WebSocket router's outermost middleware records the refusal
/// here, keyed by connection, and `UpgradeRefusalHandler` writes it in place of the 400.
final class UpgradeRefusals: Sendable {
    struct Refusal: Sendable {
        let status: HTTPResponseStatus
        let headers: [(String, String)]
        let body: ByteBuffer
    }

    static let shared = UpgradeRefusals()
    private let pending = Mutex<[ObjectIdentifier: Refusal]>([:])

    func record(_ refusal: Refusal, for channel: any Channel) {
        pending.withLock { $0[ObjectIdentifier(channel)] = refusal }
    }

    func take(for channel: any Channel) -> Refusal? {
        pending.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

/// Records the WebSocket router's answer when it is not an upgrade.
struct UpgradeRefusalMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        guard response.status != .ok, let channel = context.connection else { return response }
        let sink = BodyCollector.Sink()
        try await response.body.write(BodyCollector(sink: sink))
        let headers = response.headers.map { ($0.name.rawName, $0.value) }
        UpgradeRefusals.shared.record(
            .init(status: HTTPResponseStatus(statusCode: Int(response.status.code)), headers: headers, body: sink.buffer), for: channel)
        return response
    }

    /// The refusal's body (a small JSON error) gathered into one buffer.
    struct BodyCollector: ResponseBodyWriter {
        final class Sink {
            var buffer = ByteBuffer()
        }

        let sink: Sink
        mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            sink.buffer.writeBuffer(&buffer)
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

/// Replaces the empty 400 of a refused upgrade with the recorded answer.
final class UpgradeRefusalHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Once the upgrade is done, WebSocket frames (not HTTP parts) pass: they are not looked at.
    private var upgraded = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !upgraded else {
            context.write(data, promise: promise)
            return
        }
        let part = unwrapOutboundIn(data)
        if case .head(let head) = part, head.status == .switchingProtocols {
            upgraded = true
            context.write(data, promise: promise)
            return
        }
        guard case .head(let head) = part, head.status == .badRequest,
            let refusal = UpgradeRefusals.shared.take(for: context.channel)
        else {
            context.write(data, promise: promise)
            return
        }
        var headers = HTTPHeaders(refusal.headers.filter { $0.0.lowercased() != "content-length" && $0.0.lowercased() != "transfer-encoding" })
        headers.replaceOrAdd(name: "Content-Length", value: String(refusal.body.readableBytes))
        headers.replaceOrAdd(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: refusal.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(refusal.body))), promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        _ = UpgradeRefusals.shared.take(for: context.channel)
        context.fireChannelInactive()
    }
}
