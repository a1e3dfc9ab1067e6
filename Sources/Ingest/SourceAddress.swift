import Glibc
import NIOCore

/// Where a datagram came from, as a small hashable value: an IP address and a port. Compared
/// for every packet, so it is built from the socket address's bytes, never from text.
public struct SourceAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address's bytes (IPv4 in the first four).
    private let high: UInt64
    private let low: UInt64
    private let isIPv6: Bool
    public let port: UInt16

    public init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            high = UInt64(UInt32(bigEndian: v4.address.sin_addr.s_addr))
            low = 0
            isIPv6 = false
            port = UInt16(bigEndian: v4.address.sin_port)
        case .v6(let v6):
            var bytes = v6.address.sin6_addr
            let words = withUnsafeBytes(of: &bytes) { raw in
                (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            }
            (high, low) = (UInt64(bigEndian: words.0), UInt64(bigEndian: words.1))
            isIPv6 = true
            port = UInt16(bigEndian: v6.address.sin6_port)
        case .unixDomainSocket:
            return nil
        }
    }

    /// From a socket address as the kernel gives it (recvmmsg, getsockname); nil for a family
    /// other than IPv4 and IPv6.
    init?(_ storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let v4 = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in.self) }
            self.init(high: UInt64(UInt32(bigEndian: v4.sin_addr.s_addr)), low: 0, isIPv6: false, port: UInt16(bigEndian: v4.sin_port))
        case AF_INET6:
            let v6 = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in6.self) }
            let words = withUnsafeBytes(of: v6.sin6_addr) { raw in
                (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            }
            self.init(high: UInt64(bigEndian: words.0), low: UInt64(bigEndian: words.1), isIPv6: true, port: UInt16(bigEndian: v6.sin6_port))
        default:
            return nil
        }
    }

    /// Calls `body` with this address as a `sockaddr` (to send to it).
    func withSocketAddress<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        if !isIPv6 {
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            v4.sin_addr.s_addr = UInt32(truncatingIfNeeded: high).bigEndian
            return withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &v6.sin6_addr) { raw in
            raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    }

    private init(high: UInt64, low: UInt64, isIPv6: Bool, port: UInt16) {
        (self.high, self.low, self.isIPv6, self.port) = (high, low, isIPv6, port)
    }

    /// The address's bytes: 4 for IPv4, 16 for IPv6 (as STUN's XOR-MAPPED-ADDRESS carries them).
    public var addressBytes: [UInt8] {
        if !isIPv6 { return (0..<4).map { UInt8(truncatingIfNeeded: high >> (24 - 8 * UInt64($0))) } }
        return [high, low].flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64($0))) } }
    }

    /// `host:port` or `[v6]:port` with a numeric host; nil for anything else.
    public static func parse(_ text: String) -> SourceAddress? {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.contains(":") || text.hasPrefix("["), let number = UInt16(port), number > 0,
              let address = try? SocketAddress(ipAddress: String(host), port: Int(number)) else { return nil }
        return SourceAddress(address)
    }

    /// Whether RTCP from this address belongs to RTP from `rtp`: the same host, on the same port
    /// (rtcp-mux) or the next one (RFC 3550 §11).
    public func isControlPeer(of rtp: SourceAddress) -> Bool {
        high == rtp.high && low == rtp.low && isIPv6 == rtp.isIPv6 && (port == rtp.port || port == rtp.port &+ 1)
    }

    public var description: String {
        if !isIPv6 {
            let octets = [high >> 24, high >> 16, high >> 8, high].map { String($0 & 0xFF) }
            return octets.joined(separator: ".") + ":\(port)"
        }
        var groups: [String] = []
        for word in [high, low] {
            for shift: UInt64 in [48, 32, 16, 0] { groups.append(String((word >> shift) & 0xFFFF, radix: 16)) }
        }
        return "[" + groups.joined(separator: ":") + "]:\(port)"
    }
}
