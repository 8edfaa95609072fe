import Foundation
#if canImport(Glibc)
import Glibc
#endif
package import NIOCore

/// Which network addresses a URL a client gave us may reach. Audio URLs and webhooks are
/// fetched by the server, from inside its network: without this, a client could make it read
/// the cloud's metadata service (169.254.169.254), a database on loopback or anything on the
/// private network (server-side request forgery). Only public unicast addresses pass, unless
/// the operator allows private ones (`DALSTON_ALLOW_PRIVATE_URLS=true`, for a LAN deployment).
package struct AddressPolicy: Sendable, Equatable {
    package var allowsPrivate: Bool
    /// Private addresses allowed one by one (`DALSTON_ALLOWED_PRIVATE_ADDRESSES`: a storage
    /// server on the LAN), without opening every private network.
    package var allowedAddresses: Set<String>

    package init(allowsPrivate: Bool, allowedAddresses: Set<String> = []) {
        self.allowsPrivate = allowsPrivate
        self.allowedAddresses = allowedAddresses
    }

    package static func fromEnvironment(_ environment: [String: String]) -> AddressPolicy {
        AddressPolicy(
            allowsPrivate: ["true", "1", "yes"].contains((environment["DALSTON_ALLOW_PRIVATE_URLS"] ?? "").lowercased()),
            allowedAddresses: Set((environment["DALSTON_ALLOWED_PRIVATE_ADDRESSES"] ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            }.filter { !$0.isEmpty }))
    }

    /// Why `address` may not be reached, or nil when it may.
    package func refusal(_ address: SocketAddress) -> String? {
        guard let range = Self.specialRange(address) else { return nil }
        if range.isPrivate, allowsPrivate || address.ipAddress.map(allowedAddresses.contains) == true { return nil }
        return range.name
    }

    /// A range that is not the public internet: its name and whether the operator's switch for
    /// private networks lets it through (the unspecified, multicast and reserved ones never pass).
    static func specialRange(_ address: SocketAddress) -> (name: String, isPrivate: Bool)? {
        switch address {
        case .v4(let v4):
            return ipv4Range(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var bytes = [UInt8](repeating: 0, count: 16)
            withUnsafeBytes(of: v6.address.sin6_addr) { raw in
                for index in 0..<min(16, raw.count) { bytes[index] = raw[index] }
            }
            return ipv6Range(bytes)
        case .unixDomainSocket:
            return ("a local socket", false)
        }
    }

    static func ipv4Range(_ address: UInt32) -> (name: String, isPrivate: Bool)? {
        func within(_ base: UInt32, _ bits: UInt32) -> Bool {
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
            return address & mask == base & mask
        }
        let a: UInt32 = 1 << 24, b: UInt32 = 1 << 16, c: UInt32 = 1 << 8
        if within(0, 8) { return ("the unspecified network 0.0.0.0/8", false) }
        if within(127 * a, 8) { return ("loopback (127.0.0.0/8)", true) }
        if within(10 * a, 8) { return ("a private network (10.0.0.0/8)", true) }
        if within(172 * a + 16 * b, 12) { return ("a private network (172.16.0.0/12)", true) }
        if within(192 * a + 168 * b, 16) { return ("a private network (192.168.0.0/16)", true) }
        if within(169 * a + 254 * b, 16) { return ("link-local (169.254.0.0/16, cloud metadata)", true) }
        if within(100 * a + 64 * b, 10) { return ("shared address space (100.64.0.0/10)", true) }
        if within(192 * a, 24) { return ("IETF protocol assignments (192.0.0.0/24)", false) }
        if within(198 * a + 18 * b, 15) { return ("benchmarking (198.18.0.0/15)", true) }
        if within(192 * a + 2 * c, 24) || within(198 * a + 51 * b + 100 * c, 24) || within(203 * a + 0 * b + 113 * c, 24) {
            return ("documentation addresses", false)
        }
        if within(224 * a, 4) { return ("multicast (224.0.0.0/4)", false) }
        if within(240 * a, 4) { return ("reserved (240.0.0.0/4)", false) }
        return nil
    }

    static func ipv6Range(_ bytes: [UInt8]) -> (name: String, isPrivate: Bool)? {
        let isZeroPrefix = bytes[0..<10].allSatisfy { $0 == 0 }
        // IPv4-mapped (::ffff:a.b.c.d) and the old IPv4-compatible form: judge the IPv4 inside.
        if isZeroPrefix, bytes[10] == 0xFF, bytes[11] == 0xFF {
            return ipv4Range(bytes[12..<16].reduce(0) { $0 << 8 | UInt32($1) })
        }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) {
            return bytes[15] == 1 ? ("loopback (::1)", true) : ("the unspecified address (::)", false)
        }
        // NAT64 (64:ff9b::/96) embeds an IPv4 address too.
        if bytes[0] == 0x00, bytes[1] == 0x64, bytes[2] == 0xFF, bytes[3] == 0x9B, bytes[4..<12].allSatisfy({ $0 == 0 }) {
            return ipv4Range(bytes[12..<16].reduce(0) { $0 << 8 | UInt32($1) })
        }
        if bytes[0] & 0xFE == 0xFC { return ("a private network (fc00::/7)", true) }
        if bytes[0] == 0xFE, bytes[1] & 0xC0 == 0x80 { return ("link-local (fe80::/10)", true) }
        if bytes[0] == 0xFE, bytes[1] & 0xC0 == 0xC0 { return ("site-local (fec0::/10)", true) }
        if bytes[0] == 0xFF { return ("multicast (ff00::/8)", false) }
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x0D, bytes[3] == 0xB8 { return ("documentation addresses (2001:db8::/32)", false) }
        // 6to4 (2002::/16) carries an IPv4 address in bytes 2...5.
        if bytes[0] == 0x20, bytes[1] == 0x02 {
            return ipv4Range(bytes[2..<6].reduce(0) { $0 << 8 | UInt32($1) })
        }
        return nil
    }
}
