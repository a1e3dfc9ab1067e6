import COpenSSL

/// The server's DTLS identity: a P-256 key and a self-signed certificate made at start-up (as
/// WebRTC endpoints do; the peer trusts it by the fingerprint in the SDP answer, not by a CA).
public final class DTLSCertificate: @unchecked Sendable {
    // Written once in init, then only read (OpenSSL's objects are safe to read from threads).
    let key: OpaquePointer
    let certificate: OpaquePointer
    /// `sha-256 AB:CD:…`, as the answer's `a=fingerprint` line carries it.
    public let fingerprint: Fingerprint

    /// How long the certificate is valid, from a day before now.
    static let validity: Int = 30 * 86_400

    public init(commonName: String = "egress-server") throws {
        guard let key = egress_generate_p256_key() else { throw DTLSError.openSSL("EC key generation") }
        guard let certificate = X509_new() else {
            EVP_PKEY_free(key)
            throw DTLSError.openSSL("X509_new")
        }
        self.key = key
        self.certificate = certificate
        var serial = UInt64.random(in: 1...UInt64(Int64.max))
        let made = withUnsafeBytes(of: &serial) { raw -> Bool in
            guard let bytes = raw.baseAddress?.assumingMemoryBound(to: UInt8.self),
                  let number = BN_bin2bn(bytes, Int32(raw.count), nil) else { return false }
            defer { BN_free(number) }
            return BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nil
        }
        guard made,
              X509_set_version(certificate, 2) == 1,
              X509_gmtime_adj(X509_getm_notBefore(certificate), -86_400) != nil,
              X509_gmtime_adj(X509_getm_notAfter(certificate), Self.validity) != nil,
              X509_set_pubkey(certificate, key) == 1,
              let name = X509_get_subject_name(certificate),
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1,
              X509_set_issuer_name(certificate, name) == 1,
              X509_sign(certificate, key, EVP_sha256()) > 0 else {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw DTLSError.openSSL("self-signed certificate")
        }
        guard let digest = Fingerprint.Algorithm.sha256.digest(of: certificate) else {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw DTLSError.openSSL("certificate fingerprint")
        }
        fingerprint = Fingerprint(algorithm: .sha256, bytes: digest)
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }
}

/// A certificate fingerprint (RFC 8122 `a=fingerprint`).
public struct Fingerprint: Sendable, Equatable, CustomStringConvertible {
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha256 = "sha-256"
        case sha384 = "sha-384"
        case sha512 = "sha-512"

        var length: Int {
            switch self {
            case .sha256: 32
            case .sha384: 48
            case .sha512: 64
            }
        }

        /// The digest of a certificate's DER encoding.
        func digest(of certificate: OpaquePointer) -> [UInt8]? {
            let method: OpaquePointer? = switch self {
            case .sha256: EVP_sha256()
            case .sha384: EVP_sha384()
            case .sha512: EVP_sha512()
            }
            var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var length: UInt32 = 0
            guard X509_digest(certificate, method, &out, &length) == 1, Int(length) == self.length else { return nil }
            return Array(out.prefix(Int(length)))
        }
    }

    public let algorithm: Algorithm
    public let bytes: [UInt8]

    public init(algorithm: Algorithm, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// Reads `sha-256 AB:CD:…` (the algorithm's name in any case); nil when malformed.
    public init?(sdpValue: Substring) {
        let parts = sdpValue.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let algorithm = Algorithm(rawValue: parts[0].lowercased()) else { return nil }
        let groups = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count == algorithm.length else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(groups.count)
        for group in groups {
            guard group.utf8.count == 2, let byte = UInt8(group, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(algorithm: algorithm, bytes: bytes)
    }

    /// `sha-256 AB:CD:…`
    public var description: String {
        algorithm.rawValue + " " + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: ":")
    }
}
