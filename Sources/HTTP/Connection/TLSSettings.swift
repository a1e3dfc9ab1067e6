import NIOSSL

/// TLS for the API port: a certificate chain and its private key, PEM files. ALPN offers `h2`
/// and `http/1.1`.
public struct TLSSettings: Sendable {
    public var certificatePath: String
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }

    /// Loads the files; throws naming the one that could not be used.
    func makeContext() throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw TLSSetupError("cannot read the TLS certificate \(certificatePath): \(error)")
        }
        guard !chain.isEmpty else { throw TLSSetupError("no certificate in \(certificatePath)") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw TLSSetupError("cannot read the TLS private key \(privateKeyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.applicationProtocols = ["h2", "http/1.1"]
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError("the TLS certificate \(certificatePath) and key \(privateKeyPath) cannot be used together: \(error)")
        }
    }
}

/// Why TLS could not be set up.
public struct TLSSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The server name a TLS client sends (SNI) for `host`: none for an IP address, which SNI may
/// not carry (RFC 6066 §3); the certificate is then checked against the address it connected to.
public func serverNameIndication(for host: String) -> String? {
    let isIPv4 = host.split(separator: ".", omittingEmptySubsequences: false).count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
    let isIPv6 = host.contains(":")
    return isIPv4 || isIPv6 ? nil : host
}
