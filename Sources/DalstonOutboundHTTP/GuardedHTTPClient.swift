#if canImport(Glibc)
import Glibc
#endif
package import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// HTTP for URLs that clients give the server (audio to fetch, webhooks to call), safe against
/// server-side request forgery: the host is resolved here, every address it resolves to must pass
/// the `AddressPolicy`, the connection goes to one of those very addresses (so a DNS answer that
/// changes between the check and the connection — rebinding — cannot send it elsewhere), and the
/// peer actually connected to is checked again. Redirects are followed by hand, each hop checked
/// the same way, up to a limit. Bodies stream to the caller with a size limit, within a deadline.
package struct GuardedHTTPClient: Sendable {
    package struct Limits: Sendable {
        /// Largest body accepted.
        package var maximumBytes: Int
        /// Redirects followed before giving up.
        package var maximumRedirects = 5
        package var connectTimeout: Duration = .seconds(10)
        /// The whole exchange, redirects included.
        package var deadline: Duration = .seconds(300)

        package init(maximumBytes: Int, maximumRedirects: Int = 5, connectTimeout: Duration = .seconds(10), deadline: Duration = .seconds(300)) {
            self.maximumBytes = maximumBytes
            self.maximumRedirects = maximumRedirects
            self.connectTimeout = connectTimeout
            self.deadline = deadline
        }
    }

    /// What the server answered (after redirects).
    package struct Answer: Sendable {
        package let status: Int
        package let headers: [(name: String, value: String)]
        package let finalURL: URL
        package let byteCount: Int

        package func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    package let policy: AddressPolicy
    /// Trust roots for HTTPS (the system's by default; tests add their own).
    let tls: TLSConfiguration

    package init(policy: AddressPolicy) {
        self.init(policy: policy, tls: .makeClientConfiguration())
    }

    init(policy: AddressPolicy, tls: TLSConfiguration) {
        self.policy = policy
        self.tls = tls
    }

    /// Why a URL was not fetched, in words for the client (the address is not secret: they gave it).
    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case invalidURL(String)
        case refused(String)
        case tooLarge(Int)
        case tooManyRedirects(Int)
        case unreachable(String)
        case httpStatus(Int)

        package var description: String {
            switch self {
            case .invalidURL(let reason): "the URL cannot be used: \(reason)"
            case .refused(let reason): "the URL is refused: \(reason)"
            case .tooLarge(let limit): "the file at the URL is larger than the limit of \(limit / (1024 * 1024)) MB"
            case .tooManyRedirects(let limit): "the URL redirected more than \(limit) times"
            case .unreachable(let reason): "the URL could not be fetched: \(reason)"
            case .httpStatus(let status): "the server at the URL answered HTTP \(status)"
            }
        }
    }

    /// Checks a URL before anything is stored about it: scheme, host, and — by resolving it —
    /// that it leads nowhere the policy forbids. Delivery checks again (DNS may change).
    package func check(_ url: URL) async throws(Failure) {
        let target = try Target(url)
        _ = try await addresses(of: target)
    }

    /// GETs `url`, following redirects, handing each piece of the body to `receive` as it
    /// arrives (so memory stays one chunk, and a slow receiver slows the download); a non-2xx
    /// answer after redirects is `httpStatus`.
    package func get(_ url: URL, limits: Limits, receive: ([UInt8]) async throws -> Void) async throws -> Answer {
        let deadline = ContinuousClock.now + limits.deadline
        var current = url
        for _ in 0...limits.maximumRedirects {
            let answer = try await exchange(method: .GET, url: current, headers: [], body: nil, limits: limits, deadline: deadline, receive: receive)
            if [301, 302, 303, 307, 308].contains(answer.status) {
                guard let location = answer.header("location"), let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                    throw Failure.unreachable("a redirect without a Location")
                }
                current = next
                continue
            }
            guard (200..<300).contains(answer.status) else { throw Failure.httpStatus(answer.status) }
            return answer
        }
        throw Failure.tooManyRedirects(limits.maximumRedirects)
    }

    /// Sends one request without following redirects (webhooks: a redirect is the receiver's
    /// answer, not an instruction); returns the answer with at most `limits.maximumBytes` of body.
    package func send(
        method: String, url: URL, headers: [(name: String, value: String)], body: [UInt8], limits: Limits
    ) async throws -> (answer: Answer, body: [UInt8]) {
        var collected: [UInt8] = []
        let answer = try await exchange(
            method: HTTPMethod(rawValue: method), url: url, headers: headers, body: body, limits: limits, deadline: ContinuousClock.now + limits.deadline,
            receive: { collected += $0 })
        return (answer, collected)
    }

    // MARK: One exchange

    private struct Target {
        let url: URL
        let host: String
        let port: Int
        let isTLS: Bool
        /// Path and query as sent.
        let requestTarget: String

        init(_ url: URL) throws(Failure) {
            guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                throw .invalidURL("only http and https URLs are fetched")
            }
            guard let host = url.host, !host.isEmpty else { throw .invalidURL("the URL has no host") }
            guard url.user == nil, url.password == nil else { throw .invalidURL("credentials in the URL are not accepted") }
            self.url = url
            self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            isTLS = scheme == "https"
            port = url.port ?? (isTLS ? 443 : 80)
            guard (1...65535).contains(port) else { throw .invalidURL("port \(port) is out of range") }
            var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
            components?.fragment = nil
            let path = components?.percentEncodedPath ?? "/"
            let query = components?.percentEncodedQuery.map { "?" + $0 } ?? ""
            requestTarget = (path.isEmpty ? "/" : path) + query
        }

        var hostHeader: String {
            let name = host.contains(":") ? "[\(host)]" : host
            return (isTLS && port == 443) || (!isTLS && port == 80) ? name : "\(name):\(port)"
        }
    }

    private func exchange(
        method: HTTPMethod, url: URL, headers: [(name: String, value: String)], body: [UInt8]?, limits: Limits,
        deadline: ContinuousClock.Instant, receive: ([UInt8]) async throws -> Void
    ) async throws -> Answer {
        let target = try Target(url)
        let candidates = try await addresses(of: target)
        var lastError: (any Error)?
        for address in candidates {
            let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
            do {
                channel = try await connect(to: address, target: target, timeout: limits.connectTimeout)
            } catch {
                lastError = error
                continue
            }
            // The peer this socket is really connected to, checked again.
            if let peer = channel.channel.remoteAddress, let refusal = policy.refusal(peer) {
                try? await channel.channel.close()
                throw Failure.refused("\(target.host) is \(refusal)")
            }
            // The whole exchange within the deadline: past it, the connection is closed under the reader.
            let remaining = deadline - ContinuousClock.now
            let timer = channel.channel.eventLoop.scheduleTask(in: .nanoseconds(max(0, Int64(remaining.components.seconds) * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000))) {
                channel.channel.close(promise: nil)
            }
            defer { timer.cancel() }
            do {
                return try await talk(over: channel, method: method, target: target, headers: headers, body: body, limits: limits, receive: receive)
            } catch let failure as Failure {
                throw failure
            } catch let receiver as ReceiverFailure {
                throw receiver.underlying
            } catch {
                if ContinuousClock.now >= deadline { throw Failure.unreachable("timed out after \(limits.deadline.components.seconds) s") }
                throw Failure.unreachable("the connection failed: \(error)")
            }
        }
        throw Failure.unreachable("cannot connect to \(target.host):\(target.port) (\(lastError.map { "\($0)" } ?? "no address"))")
    }

    private func talk(
        over channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, method: HTTPMethod, target: Target,
        headers: [(name: String, value: String)], body: [UInt8]?, limits: Limits, receive: ([UInt8]) async throws -> Void
    ) async throws -> Answer {
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: target.requestTarget)
            head.headers.add(name: "Host", value: target.hostHeader)
            head.headers.add(name: "User-Agent", value: "Dalston")
            head.headers.add(name: "Accept-Encoding", value: "identity")
            head.headers.add(name: "Connection", value: "close")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if let body { head.headers.replaceOrAdd(name: "Content-Length", value: "\(body.count)") }
            var request: [HTTPClientRequestPart] = [.head(head)]
            if let body, !body.isEmpty { request.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            request.append(.end(nil))
            // One write, one flush. A server may answer and close before it has read everything
            // (a redirect, a refusal): a failed write still leaves its answer to be read below.
            do {
                try await outbound.write(contentsOf: request)
            } catch {
                outbound.finish()
            }
            var status = 0
            var answerHeaders: [(name: String, value: String)] = []
            var received = 0
            for try await part in inbound {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                    answerHeaders = response.headers.map { ($0.name, $0.value) }
                    if (200..<300).contains(status), let length = response.headers.first(name: "content-length").flatMap(Int.init), length > limits.maximumBytes {
                        throw Failure.tooLarge(limits.maximumBytes)
                    }
                case .body(let buffer):
                    // Only a success's body is the caller's; a redirect's or an error's is dropped.
                    guard (200..<300).contains(status) else { continue }
                    received += buffer.readableBytes
                    guard received <= limits.maximumBytes else { throw Failure.tooLarge(limits.maximumBytes) }
                    do {
                        try await receive(Array(buffer.readableBytesView))
                    } catch {
                        throw ReceiverFailure(underlying: error)
                    }
                case .end:
                    return Answer(status: status, headers: answerHeaders, finalURL: target.url, byteCount: received)
                }
            }
            throw Failure.unreachable("the connection closed before the answer was complete")
        }
    }

    private func connect(
        to address: SocketAddress, target: Target, timeout: Duration
    ) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        let sslContext = target.isTLS ? try NIOSSLContext(configuration: tls) : nil
        let serverName = target.isTLS && !Self.isIPAddress(target.host) ? target.host : nil
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
    }

    // MARK: Resolution

    /// Every address the host resolves to, each allowed by the policy (one that is not refuses
    /// the URL: a name with both a public and a private address is not to be trusted).
    private func addresses(of target: Target) async throws(Failure) -> [SocketAddress] {
        let resolved: [SocketAddress]
        do {
            resolved = try await NIOThreadPool.singleton.runIfActive { try Self.resolve(target.host, port: target.port) }
        } catch {
            throw .unreachable("\(target.host) does not resolve")
        }
        guard !resolved.isEmpty else { throw .unreachable("\(target.host) does not resolve") }
        for address in resolved {
            if let refusal = policy.refusal(address) {
                throw .refused("\(target.host) is \(refusal); set DALSTON_ALLOW_PRIVATE_URLS=true to allow private networks")
            }
        }
        return resolved
    }

    /// `getaddrinfo` (blocking: runs on NIO's thread pool).
    static func resolve(_ host: String, port: Int) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw Failure.unreachable("\(host) does not resolve")
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let pointer = current.pointee.ai_addr {
                switch current.pointee.ai_family {
                case AF_INET:
                    let address = pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                    addresses.append(SocketAddress(address, host: host))
                case AF_INET6:
                    let address = pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                    addresses.append(SocketAddress(address, host: host))
                default: break
                }
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}


/// An error of the caller's receiver (the body refused as too long, say), passed through as is.
private struct ReceiverFailure: Error {
    let underlying: any Error
}
