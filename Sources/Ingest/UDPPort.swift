import CSocket
import Glibc

/// A system call that failed, with its errno: why the hub's port could not be opened.
public struct SocketError: Error, CustomStringConvertible {
    public let call: String
    public let reason: String

    init(_ call: String, code: Int32 = errno) {
        (self.call, reason) = (call, String(cString: strerror(code)))
    }

    init(_ call: String, reason: String) {
        (self.call, self.reason) = (call, reason)
    }

    public var description: String { "\(call): \(reason)" }
}

/// The hub's UDP socket: non-blocking, read in batches with `recvmmsg(2)`, each datagram with
/// the kernel's receive time (`SO_TIMESTAMPNS`), so that a datagram's arrival time is when it
/// came, not when the hub got to it. Used on the hub's loop only (its buffers are reused).
final class UDPPort: @unchecked Sendable {
    private(set) var descriptor: Int32
    let port: Int
    /// The longest datagram read whole; a longer one is read cut short.
    private let capacity: Int
    /// Datagrams one `recvmmsg` takes at most.
    static let batch = 32
    private static let controlSize = 64
    private let buffers: UnsafeMutableRawBufferPointer
    private let names: UnsafeMutablePointer<sockaddr_storage>
    private let controls: UnsafeMutableRawBufferPointer
    private let vectors: UnsafeMutablePointer<iovec>
    private let headers: UnsafeMutablePointer<egress_mmsghdr>

    /// One datagram as read: its bytes (valid until the next read; one longer than the capacity
    /// is cut to it), where it came from, and when it arrived (Unix ns; nil if the kernel did not say).
    struct Datagram {
        let bytes: UnsafeRawBufferPointer
        let sender: SourceAddress?
        let receivedAt: Int64?
    }

    /// Binds `host` (a numeric address or a name, resolved once) and `port` (0: any free one).
    init(host: String, port: Int, capacity: Int, receiveBufferSize: Int) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &found)
        guard resolved == 0, let address = found else {
            throw SocketError("resolving \"\(host.prefix(64))\"", reason: String(cString: gai_strerror(resolved)))
        }
        defer { freeaddrinfo(found) }
        let descriptor = socket(address.pointee.ai_family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError("socket") }
        func option(_ level: Int32, _ name: Int32, _ value: Int32) throws {
            var value = value
            guard setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                let error = SocketError("setsockopt \(name)")
                Glibc.close(descriptor)
                throw error
            }
        }
        // No SO_REUSEADDR: on Linux it lets a second UDP socket that asks for it bind the same
        // port and take the datagrams meant for this one.
        try option(SOL_SOCKET, SO_RCVBUF, Int32(clamping: receiveBufferSize))
        try option(SOL_SOCKET, SO_TIMESTAMPNS, 1)
        guard bind(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            let error = SocketError("bind \(host.prefix(64)):\(port)")
            Glibc.close(descriptor)
            throw error
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0, let local = SourceAddress(bound) else {
            let error = SocketError("getsockname")
            Glibc.close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.port = Int(local.port)
        self.capacity = max(1, capacity)
        let batch = Self.batch
        buffers = .allocate(byteCount: batch * self.capacity, alignment: 16)
        names = .allocate(capacity: batch)
        controls = .allocate(byteCount: batch * Self.controlSize, alignment: 16)
        vectors = .allocate(capacity: batch)
        headers = .allocate(capacity: batch)
        for index in 0..<batch {
            vectors[index] = iovec(iov_base: buffers.baseAddress! + index * self.capacity, iov_len: self.capacity)
        }
    }

    /// Closes the socket (once).
    func close() {
        guard descriptor >= 0 else { return }
        Glibc.close(descriptor)
        descriptor = -1
    }

    deinit {
        close()
        buffers.deallocate()
        names.deallocate()
        controls.deallocate()
        vectors.deallocate()
        headers.deallocate()
    }

    /// Reads the datagrams waiting, at most `limit` (whole batches), and gives each to `body`.
    /// Returns how many were read.
    @discardableResult
    func receive(limit: Int, _ body: (Datagram) -> Void) -> Int {
        var total = 0
        while total < limit {
            let batch = Self.batch
            for index in 0..<batch {
                headers[index] = egress_mmsghdr(
                    msg_hdr: msghdr(msg_name: UnsafeMutableRawPointer(names + index), msg_namelen: socklen_t(MemoryLayout<sockaddr_storage>.size),
                                    msg_iov: vectors + index, msg_iovlen: 1,
                                    msg_control: controls.baseAddress! + index * Self.controlSize, msg_controllen: Self.controlSize, msg_flags: 0),
                    msg_len: 0)
            }
            let count = egress_recvmmsg(descriptor, headers, UInt32(batch), Int32(MSG_DONTWAIT), nil)
            if count < 0 {
                if errno == EINTR { continue }
                break  // EAGAIN: nothing more waits (errors of an unconnected UDP socket are not kept)
            }
            for index in 0..<Int(count) {
                let header = headers[index]
                let length = min(Int(header.msg_len), capacity)
                let time = egress_receive_time(&headers[index].msg_hdr)
                body(Datagram(bytes: UnsafeRawBufferPointer(start: vectors[index].iov_base, count: length),
                              sender: SourceAddress(names[index]),
                              receivedAt: time > 0 ? Int64(time) : nil))
            }
            total += Int(count)
            if count < batch { break }
        }
        return total
    }

    /// Sends one datagram, without waiting (a datagram the socket cannot take now is dropped, as
    /// the network might drop it).
    func send(_ bytes: [UInt8], to address: SourceAddress) {
        _ = address.withSocketAddress { name, length in
            bytes.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), name, length) }
        }
    }
}
