import GRPCWire

/// Options of one call; unset ones take the client's.
public struct CallOptions: Sendable {
    /// How long the call may take; sent as `grpc-timeout`, and enforced here too.
    public var timeout: Duration?
    /// Sent as request headers (`-bin` keys base64-encoded).
    public var metadata: Metadata
    /// How the request message is compressed.
    public var compression: MessageEncoding?
    /// The largest response message accepted (after inflating); larger ends the call with RESOURCE_EXHAUSTED.
    public var maxResponseSize: Int?

    public init(timeout: Duration? = nil, metadata: Metadata = Metadata(), compression: MessageEncoding? = nil,
                maxResponseSize: Int? = nil) {
        self.timeout = timeout
        self.metadata = metadata
        self.compression = compression
        self.maxResponseSize = maxResponseSize
    }
}

/// Where the client connects and how it behaves; every value has a default.
public struct GRPCClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// TLS (ALPN `h2`) when set; h2c with prior knowledge otherwise.
    public var tls: TLS?
    public var connectTimeout: Duration = .seconds(10)
    /// Waits between failed connection attempts.
    public var backoff = Backoff()
    /// For calls that set none (default: none).
    public var defaultTimeout: Duration?
    /// The largest response message accepted (default 4 MiB).
    public var maxResponseMessageSize = 4 * 1024 * 1024
    /// How request messages are compressed (default: not).
    public var compression = MessageEncoding.identity

    public init(host: String = "127.0.0.1", port: Int = 7880, tls: TLS? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    public struct TLS: Sendable {
        /// PEM certificates to trust instead of the system's (e.g. a self-signed server's).
        public var caFile: String?
        /// The name the certificate must carry (default: the host).
        public var serverHostname: String?

        public init(caFile: String? = nil, serverHostname: String? = nil) {
            self.caFile = caFile
            self.serverHostname = serverHostname
        }
    }
}

/// Exponential back-off with jitter between connection attempts: 1 s, then ×1.6 up to 30 s,
/// each ±20 %, as gRPC's connection back-off specifies.
public struct Backoff: Sendable {
    public var initial: Duration = .seconds(1)
    public var multiplier = 1.6
    public var maximum: Duration = .seconds(30)
    public var jitter = 0.2

    public init() {}

    func delay(afterFailures failures: Int) -> Duration {
        var seconds = Double(initial.nanoseconds) / 1e9
        let cap = Double(maximum.nanoseconds) / 1e9
        for _ in 1..<max(failures, 1) where seconds < cap { seconds *= multiplier }
        seconds = min(seconds, cap) * (1 + Double.random(in: -jitter...jitter))
        return .nanoseconds(Int64(min(max(seconds, 0) * 1e9, 9e18)))
    }
}
