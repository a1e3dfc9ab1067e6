import COpenSSL

/// The server side of one DTLS 1.2 association over datagrams the caller carries: records in
/// through `receive`, records out as the returned datagrams, each kept whole (one OpenSSL write,
/// one datagram). When the handshake is done, the peer's certificate has been checked against
/// the fingerprint its SDP named and the SRTP keys are exported. Used by one owner at a time.
public final class DTLSServerSession {
    public enum State: Equatable {
        case handshaking
        /// The handshake is done: SRTP keys for each direction.
        case connected(SRTPKeys)
        /// The peer closed the association (close_notify).
        case closed
        case failed(String)
    }

    /// SRTP master keys and salts for both directions, from RFC 5764's exporter.
    public struct SRTPKeys: Equatable {
        public let profile: SRTPProfile
        /// What the peer (the DTLS client) protects its packets with.
        public let remote: [UInt8]
        /// What this side protects its packets with.
        public let local: [UInt8]
    }

    public private(set) var state: State = .handshaking
    private let ssl: OpaquePointer
    private let input: OpaquePointer
    private let output: DatagramSink
    private let expectedFingerprint: Fingerprint

    /// The MTU handshake records are cut to (the path's, less IP and UDP headers).
    static let mtu = 1200

    public init(context: DTLSContext, peerFingerprint: Fingerprint) throws {
        guard let ssl = SSL_new(context.context) else { throw DTLSError.openSSL("SSL_new") }
        guard let input = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw DTLSError.openSSL("BIO_new")
        }
        let output = DatagramSink()
        guard let outputBIO = output.makeBIO() else {
            BIO_free(input)
            SSL_free(ssl)
            throw DTLSError.openSSL("BIO_new (datagrams)")
        }
        // An empty input BIO says "retry", not end of file.
        _ = egress_BIO_set_mem_eof_return(input, -1)
        SSL_set_bio(ssl, input, outputBIO)  // the SSL owns both BIOs from here on
        SSL_set_accept_state(ssl)
        _ = egress_DTLS_set_link_mtu(ssl, Self.mtu)
        self.ssl = ssl
        self.input = input
        self.output = output
        self.expectedFingerprint = peerFingerprint
    }

    deinit { SSL_free(ssl) }

    /// Takes one DTLS datagram from the peer; returns the datagrams to send back. Application
    /// data (data channels) is read and dropped: none is negotiated.
    public func receive(_ datagram: [UInt8]) -> [[UInt8]] {
        guard case .handshaking = state else {
            if case .connected = state { readRecords(datagram) }
            return output.take()
        }
        guard !datagram.isEmpty, datagram.count <= 65_535 else { return [] }
        _ = datagram.withUnsafeBytes { BIO_write(input, $0.baseAddress, Int32($0.count)) }
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            finishHandshake()
            // A handshake whose peer or keys are refused ends with a close_notify, so that the
            // peer knows at once rather than when its media goes unanswered.
            if case .failed = state { _ = SSL_shutdown(ssl) }
        } else {
            let error = SSL_get_error(ssl, result)
            if error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE {
                state = .failed(DTLSError.openSSL("DTLS handshake").message)
            }
        }
        return output.take()
    }

    /// Retransmits the last flight when its timer ran out; returns what to send.
    public func handleTimeout() -> [[UInt8]] {
        guard case .handshaking = state else { return [] }
        if egress_DTLSv1_handle_timeout(ssl) < 0 {
            state = .failed(DTLSError.openSSL("DTLS retransmission").message)
        }
        return output.take()
    }

    /// A close_notify for the peer, when the session ends.
    public func close() -> [[UInt8]] {
        if case .connected = state { _ = SSL_shutdown(ssl) }
        state = .closed
        return output.take()
    }

    private func readRecords(_ datagram: [UInt8]) {
        guard !datagram.isEmpty, datagram.count <= 65_535 else { return }
        _ = datagram.withUnsafeBytes { BIO_write(input, $0.baseAddress, Int32($0.count)) }
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let read = SSL_read(ssl, &buffer, Int32(buffer.count))
            if read > 0 { continue }
            if SSL_get_error(ssl, read) == SSL_ERROR_ZERO_RETURN { state = .closed }
            ERR_clear_error()
            return
        }
    }

    private func finishHandshake() {
        guard let peer = SSL_get1_peer_certificate(ssl) else {
            state = .failed("the peer sent no certificate")
            return
        }
        defer { X509_free(peer) }
        guard let digest = expectedFingerprint.algorithm.digest(of: peer), digest == expectedFingerprint.bytes else {
            state = .failed("the peer's certificate does not match the fingerprint of its offer")
            return
        }
        guard let selected = SSL_get_selected_srtp_profile(ssl), let name = selected.pointee.name,
              let profile = SRTPProfile(openSSLName: String(cString: name)) else {
            state = .failed("no SRTP protection profile was agreed (use_srtp)")
            return
        }
        let key = profile.keyLength, salt = profile.saltLength
        var material = [UInt8](repeating: 0, count: 2 * (key + salt))
        let label = "EXTRACTOR-dtls_srtp"
        guard SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0) == 1 else {
            state = .failed(DTLSError.openSSL("SRTP key export").message)
            return
        }
        // client key, server key, client salt, server salt (RFC 5764 §4.2); this side is the server.
        let clientKey = material[0..<key], serverKey = material[key..<2 * key]
        let clientSalt = material[2 * key..<2 * key + salt], serverSalt = material[(2 * key + salt)...]
        state = .connected(SRTPKeys(profile: profile, remote: Array(clientKey + clientSalt), local: Array(serverKey + serverSalt)))
        for index in material.indices { material[index] = 0 }
    }
}

/// The write side of a DTLS session: an OpenSSL BIO whose every write is one datagram, kept in
/// order until taken (a memory BIO would run a flight's records together).
final class DatagramSink {
    private var datagrams: [[UInt8]] = []
    private var queuedBytes = 0
    /// More than this waiting means nobody is taking them: later writes fail.
    static let maxQueuedBytes = 256 * 1024

    func take() -> [[UInt8]] {
        defer {
            datagrams.removeAll(keepingCapacity: true)
            queuedBytes = 0
        }
        return datagrams
    }

    /// A BIO that appends to this sink; it holds the sink strongly until freed.
    func makeBIO() -> OpaquePointer? {
        guard let method = Self.method.pointer, let bio = BIO_new(method) else { return nil }
        BIO_set_data(bio, Unmanaged.passRetained(self).toOpaque())
        BIO_set_init(bio, 1)
        return bio
    }

    /// The BIO method, made once and only read afterwards.
    private struct Method: @unchecked Sendable { let pointer: OpaquePointer? }

    private static let method = Method(pointer: {
        guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "egress datagrams") else { return nil }
        _ = BIO_meth_set_write(method) { bio, data, length in
            guard let bio, let data, length > 0, let context = BIO_get_data(bio) else { return -1 }
            let sink = Unmanaged<DatagramSink>.fromOpaque(context).takeUnretainedValue()
            guard sink.queuedBytes + Int(length) <= DatagramSink.maxQueuedBytes else { return -1 }
            sink.datagrams.append(Array(UnsafeRawBufferPointer(start: data, count: Int(length))))
            sink.queuedBytes += Int(length)
            return length
        }
        _ = BIO_meth_set_ctrl(method) { _, command, _, _ in
            switch command {
            case BIO_CTRL_FLUSH: 1
            // Per-record overhead of IP and UDP, so that records fit the link MTU set on the SSL.
            case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: 28
            default: 0
            }
        }
        _ = BIO_meth_set_destroy(method) { bio in
            guard let bio else { return 0 }
            if let context = BIO_get_data(bio) {
                Unmanaged<DatagramSink>.fromOpaque(context).release()
                BIO_set_data(bio, nil)
            }
            return 1
        }
        return method
    }())
}
