import CSRTP
import Synchronization

/// The SRTP protection profiles negotiated in DTLS (`use_srtp`, RFC 5764 and RFC 7714).
public enum SRTPProfile: Sendable, Equatable {
    case aes128CMHMACSHA1_80
    case aeadAES128GCM

    /// OpenSSL's name of the profile, as listed in `SSL_CTX_set_tlsext_use_srtp`.
    public var openSSLName: String {
        switch self {
        case .aes128CMHMACSHA1_80: "SRTP_AES128_CM_SHA1_80"
        case .aeadAES128GCM: "SRTP_AEAD_AES_128_GCM"
        }
    }

    init?(openSSLName: String) {
        switch openSSLName {
        case "SRTP_AES128_CM_SHA1_80": self = .aes128CMHMACSHA1_80
        case "SRTP_AEAD_AES_128_GCM": self = .aeadAES128GCM
        default: return nil
        }
    }

    /// Master key and salt lengths (bytes).
    var keyLength: Int { 16 }
    var saltLength: Int {
        switch self {
        case .aes128CMHMACSHA1_80: 14
        case .aeadAES128GCM: 12
        }
    }

    /// The most an SRTP packet is longer than its RTP packet (tag; for SRTCP also the index).
    /// libsrtp2's SRTP_MAX_TRAILER_LEN without a master key identifier (none is used here).
    static let maxTrailer = 16 + 4

    fileprivate func apply(to policy: inout srtp_crypto_policy_t) {
        switch self {
        case .aes128CMHMACSHA1_80: egress_srtp_policy_aes_cm_128_hmac_sha1_80(&policy)
        case .aeadAES128GCM: srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy)
        }
    }
}

/// An SRTP failure, with libsrtp2's status code.
public struct SRTPError: Error, CustomStringConvertible, Equatable {
    public let status: Int32
    public let operation: String
    public var description: String { "\(operation): libsrtp2 status \(status)" }

    /// The packet failed authentication (wrong key, forged or damaged).
    public var isAuthenticationFailure: Bool { status == Int32(srtp_err_status_auth_fail.rawValue) }
    /// The packet was already received (or is too old for the replay window).
    public var isReplay: Bool {
        status == Int32(srtp_err_status_replay_fail.rawValue) || status == Int32(srtp_err_status_replay_old.rawValue)
    }
}

/// One direction of SRTP and SRTCP with one master key (libsrtp2's `srtp_t`), for every SSRC
/// of one peer. Not thread-safe: one owner (the hub's loop) uses it.
public final class SRTPContext {
    public enum Direction: Sendable { case inbound, outbound }

    private var session: srtp_t?
    public let profile: SRTPProfile

    /// Packets at most this far behind the newest are still taken (retransmissions answer NACKs).
    static let replayWindow = 1024

    /// `keyAndSalt`: the master key followed by the master salt, as DTLS exported them.
    public init(profile: SRTPProfile, keyAndSalt: [UInt8], direction: Direction) throws {
        Self.initializeLibrary()
        guard keyAndSalt.count == profile.keyLength + profile.saltLength else {
            throw SRTPError(status: Int32(srtp_err_status_bad_param.rawValue), operation: "master key of \(keyAndSalt.count) bytes")
        }
        self.profile = profile
        var policy = srtp_policy_t()
        profile.apply(to: &policy.rtp)
        profile.apply(to: &policy.rtcp)
        policy.ssrc.type = direction == .inbound ? ssrc_any_inbound : ssrc_any_outbound
        policy.window_size = UInt(Self.replayWindow)
        policy.allow_repeat_tx = 0
        var key = keyAndSalt
        var created: srtp_t?
        let status = key.withUnsafeMutableBufferPointer { pointer in
            policy.key = pointer.baseAddress
            return srtp_create(&created, &policy)
        }
        for index in key.indices { key[index] = 0 }
        guard status == srtp_err_status_ok, let created else {
            throw SRTPError(status: Int32(status.rawValue), operation: "srtp_create")
        }
        session = created
    }

    deinit {
        if let session { srtp_dealloc(session) }
    }

    /// The RTP packet inside an SRTP packet, authenticated and decrypted.
    public func unprotectRTP(_ packet: [UInt8]) throws -> [UInt8] {
        try transform(packet, minimum: 12, extra: 0, operation: "srtp_unprotect") { srtp_unprotect($0, $1, $2) }
    }

    /// The RTCP compound packet inside an SRTCP packet.
    public func unprotectRTCP(_ packet: [UInt8]) throws -> [UInt8] {
        try transform(packet, minimum: 8, extra: 0, operation: "srtp_unprotect_rtcp") { srtp_unprotect_rtcp($0, $1, $2) }
    }

    /// An RTCP compound packet as SRTCP, to send.
    public func protectRTCP(_ packet: [UInt8]) throws -> [UInt8] {
        try transform(packet, minimum: 8, extra: SRTPProfile.maxTrailer, operation: "srtp_protect_rtcp") { srtp_protect_rtcp($0, $1, $2) }
    }

    /// An RTP packet as SRTP, to send (tests play the sender with it).
    public func protectRTP(_ packet: [UInt8]) throws -> [UInt8] {
        try transform(packet, minimum: 12, extra: SRTPProfile.maxTrailer, operation: "srtp_protect") { srtp_protect($0, $1, $2) }
    }

    private func transform(_ packet: [UInt8], minimum: Int, extra: Int, operation: String,
                           _ call: (srtp_t, UnsafeMutableRawPointer, UnsafeMutablePointer<Int32>) -> srtp_err_status_t) throws -> [UInt8] {
        guard let session else { throw SRTPError(status: Int32(srtp_err_status_dealloc_fail.rawValue), operation: operation) }
        // RTP needs a 12-byte header, RTCP an 8-byte one; libsrtp2 reads them unchecked below that.
        guard packet.count >= minimum, packet.count <= 65_535 - extra else {
            throw SRTPError(status: Int32(srtp_err_status_bad_param.rawValue), operation: operation)
        }
        var buffer = packet + [UInt8](repeating: 0, count: extra)
        var length = Int32(packet.count)
        let status = buffer.withUnsafeMutableBytes { bytes in
            guard let base = bytes.baseAddress else { return srtp_err_status_bad_param }
            return call(session, base, &length)
        }
        guard status == srtp_err_status_ok, length >= 0, Int(length) <= buffer.count else {
            throw SRTPError(status: Int32(status.rawValue), operation: operation)
        }
        buffer.removeLast(buffer.count - Int(length))
        return buffer
    }

    /// nil until `srtp_init` ran; then whether AES-GCM is OpenSSL's (`OpenSSLGCMCipher`).
    private static let initialized = Mutex<Bool?>(nil)

    /// `srtp_init` and the OpenSSL AES-GCM cipher, once per process.
    private static func initializeLibrary() {
        initialized.withLock { done in
            guard done == nil else { return }
            _ = srtp_init()
            done = OpenSSLGCMCipher.install()
        }
    }

    /// Which implementation decrypts AEAD_AES_128_GCM: OpenSSL's EVP, unless libsrtp2 refused it
    /// (its self-test failed), when libsrtp2's own (NSS in Debian's build) stays.
    public static var aesGCMImplementation: String {
        initializeLibrary()
        return initialized.withLock { $0 == true } ? "OpenSSL" : "libsrtp2"
    }
}
