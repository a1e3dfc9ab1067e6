import COpenSSL

/// The OpenSSL context every DTLS session of the server is made from: DTLS 1.2 only, the
/// server's certificate, `use_srtp` with the profiles the SRTP layer supports, and a client
/// certificate required (checked against the SDP fingerprint after the handshake, not by a CA).
public final class DTLSContext: @unchecked Sendable {
    // OpenSSL allows SSL_new from several threads on one configured SSL_CTX.
    let context: OpaquePointer
    public let certificate: DTLSCertificate
    public let profiles: [SRTPProfile]

    public init(certificate: DTLSCertificate, profiles: [SRTPProfile] = [.aeadAES128GCM, .aes128CMHMACSHA1_80]) throws {
        guard let context = SSL_CTX_new(DTLS_server_method()) else { throw DTLSError.openSSL("SSL_CTX_new") }
        self.context = context
        self.certificate = certificate
        self.profiles = profiles
        let version = egress_DTLS1_2_VERSION()
        let srtp = profiles.map(\.openSSLName).joined(separator: ":")
        guard egress_SSL_CTX_set_min_proto_version(context, version) == 1,
              egress_SSL_CTX_set_max_proto_version(context, version) == 1,
              SSL_CTX_use_certificate(context, certificate.certificate) == 1,
              SSL_CTX_use_PrivateKey(context, certificate.key) == 1,
              SSL_CTX_check_private_key(context) == 1,
              // OpenSSL's use_srtp setter returns 0 on success.
              SSL_CTX_set_tlsext_use_srtp(context, srtp) == 0 else {
            SSL_CTX_free(context)
            throw DTLSError.openSSL("DTLS context")
        }
        _ = egress_SSL_CTX_set_options(context, egress_SSL_OP_NO_QUERY_MTU())
        // Any certificate is taken in the handshake; its fingerprint is compared afterwards.
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in 1 }
    }

    deinit { SSL_CTX_free(context) }
}
