import DalstonOutboundHTTP
import Foundation
import NIOCore
import Testing

@Suite("Address policy")
struct AddressPolicyTests {
    private func refusal(_ ip: String, _ policy: AddressPolicy = AddressPolicy(allowsPrivate: false)) throws -> String? {
        policy.refusal(try SocketAddress(ipAddress: ip, port: 80))
    }

    @Test(arguments: [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "fc00::5", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "ff02::1",
    ])
    func internalAddressesAreRefused(ip: String) throws {
        #expect(try refusal(ip) != nil, "\(ip) must not be reachable from a client's URL")
    }

    @Test(arguments: ["8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2a00:1450::1"])
    func publicAddressesPass(ip: String) throws {
        #expect(try refusal(ip) == nil, "\(ip) is public")
    }

    @Test func privateNetworksPassOnlyWhenTheOperatorSaysSoAndReservedOnesNever() throws {
        let open = AddressPolicy(allowsPrivate: true)
        #expect(try refusal("10.0.0.5", open) == nil)
        #expect(try refusal("::1", open) == nil)
        #expect(try refusal("0.0.0.0", open) != nil, "the unspecified address is never a destination")
        #expect(try refusal("224.0.0.1", open) != nil)
        let one = AddressPolicy(allowsPrivate: false, allowedAddresses: ["10.0.0.5"])
        #expect(try refusal("10.0.0.5", one) == nil)
        #expect(try refusal("10.0.0.6", one) != nil)
        let environment = AddressPolicy.fromEnvironment(["DALSTON_ALLOW_PRIVATE_URLS": "true", "DALSTON_ALLOWED_PRIVATE_ADDRESSES": " 10.1.1.1 , [fd00::2]"])
        #expect(environment.allowsPrivate && environment.allowedAddresses == ["10.1.1.1", "fd00::2"])
    }
}

/// The guard against real connections: a loopback server stands for both an attacker's target
/// and, allowed by address, a public server.
@Suite("Guarded HTTP client")
struct GuardedHTTPClientTests {
    /// 127.0.0.1 stands for a public server; every other internal address stays refused.
    private let policy = AddressPolicy(allowsPrivate: false, allowedAddresses: ["127.0.0.1"])

    private func fetch(_ url: String, _ client: GuardedHTTPClient, maximumBytes: Int = 1 << 20, deadline: Duration = .seconds(20)) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        _ = try await client.get(try #require(URL(string: url)), limits: .init(maximumBytes: maximumBytes, deadline: deadline)) { bytes += $0 }
        return bytes
    }

    private func refused(_ error: any Error) -> Bool {
        if case .refused? = error as? GuardedHTTPClient.Failure { return true }
        return false
    }

    @Test func loopbackLinkLocalAndNamesResolvingInsideAreRefusedBeforeAnyConnection() async throws {
        let hits = Counter()
        let server = try await ScriptedHTTPServer.start { _ in
            hits.add()
            return .init(body: Array("secret".utf8))
        }
        defer { Task { await server.stop() } }
        let strict = GuardedHTTPClient(policy: AddressPolicy(allowsPrivate: false))
        for url in [
            "http://127.0.0.1:\(server.port)/a", "http://[::1]:\(server.port)/a", "http://169.254.169.254/latest/meta-data/",
            "http://localhost:\(server.port)/a", "http://0.0.0.0:\(server.port)/a", "http://[::ffff:127.0.0.1]:\(server.port)/a",
        ] {
            await #expect("\(url)", performing: { _ = try await fetch(url, strict) }, throws: { refused($0) })
        }
        #expect(hits.value == 0, "nothing reached the server")
        await #expect(throws: GuardedHTTPClient.Failure.self) { _ = try await fetch("file:///etc/passwd", strict) }
        await #expect(throws: GuardedHTTPClient.Failure.self) { _ = try await fetch("http://user:pw@127.0.0.1:\(server.port)/", GuardedHTTPClient(policy: policy)) }
        // Allowed by address, the same server answers.
        #expect(try await fetch("http://127.0.0.1:\(server.port)/a", GuardedHTTPClient(policy: policy)) == Array("secret".utf8))
    }

    @Test func aRedirectIsCheckedAgainAndChainsAreBounded() async throws {
        let server = try await ScriptedHTTPServer.start { path in
            switch path {
            case "/to-metadata": return .init(status: .found, headers: [("Location", "http://169.254.169.254/latest/meta-data/")])
            case "/to-loopback": return .init(status: .movedPermanently, headers: [("Location", "http://127.0.0.2/admin")])
            case "/hop": return .init(status: .temporaryRedirect, headers: [("Location", "/final")])
            case "/final": return .init(body: Array("audio".utf8))
            default:
                // /loop/N redirects to /loop/N+1 forever.
                let next = (Int(path.split(separator: "/").last ?? "") ?? 0) + 1
                return .init(status: .found, headers: [("Location", "/loop/\(next)")])
            }
        }
        defer { Task { await server.stop() } }
        let client = GuardedHTTPClient(policy: policy)
        let base = "http://127.0.0.1:\(server.port)"
        await #expect(performing: { _ = try await fetch("\(base)/to-metadata", client) }, throws: { refused($0) })
        await #expect(performing: { _ = try await fetch("\(base)/to-loopback", client) }, throws: { refused($0) })
        #expect(try await fetch("\(base)/hop", client) == Array("audio".utf8))
        await #expect(throws: GuardedHTTPClient.Failure.tooManyRedirects(5)) { _ = try await fetch("\(base)/loop/0", client) }
    }

    @Test func bodiesOverTheLimitAndServersTooSlowAreCutOff() async throws {
        let big = [UInt8](repeating: 7, count: 300_000)
        let server = try await ScriptedHTTPServer.start { path in
            path == "/slow" ? .init(body: big, pause: .milliseconds(50)) : .init(body: big)
        }
        defer { Task { await server.stop() } }
        let client = GuardedHTTPClient(policy: policy)
        await #expect(throws: GuardedHTTPClient.Failure.tooLarge(100_000)) { _ = try await fetch("http://127.0.0.1:\(server.port)/big", client, maximumBytes: 100_000) }
        #expect(try await fetch("http://127.0.0.1:\(server.port)/big", client).count == big.count)
        let started = ContinuousClock.now
        await #expect(throws: GuardedHTTPClient.Failure.self) { _ = try await fetch("http://127.0.0.1:\(server.port)/slow", client, deadline: .seconds(1)) }
        #expect(ContinuousClock.now - started < .seconds(10), "the deadline stopped the download")
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
