/// Limits and settings of the HTTP/2 server. Every value has a documented default.
public struct HTTP2Configuration: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients (default 100).
    public var maxConcurrentStreams: UInt32 = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE for request bodies (default 65,535, the RFC default).
    public var initialWindowSize: UInt32 = 65_535
    /// The connection-level receive window (default 1 MiB), so that many streams can upload at once.
    public var connectionWindowSize: Int32 = 1 << 20
    /// SETTINGS_MAX_HEADER_LIST_SIZE (default 16 KiB): a request whose decoded header list is
    /// larger is answered with an error; one that decodes to over `hpackBombFactor` times this
    /// is an HPACK bomb and the connection is closed with ENHANCE_YOUR_CALM.
    public var maxHeaderListSize: Int = 16 * 1024
    public var hpackBombFactor: Int = 4

    /// Response bytes a connection may have waiting to be sent (default 4 MiB): calls (gRPC and
    /// Twirp) that become ready while a client is behind on reading wait until it catches up,
    /// and its request bodies are no longer taken (no WINDOW_UPDATE) until then. A client that
    /// stops reading costs at most this plus one response, and the flow-control windows.
    public var connectionResponseBudget = 4 * 1024 * 1024
    /// Request bytes a connection's handlers may hold before taking them (default 16 MiB: four
    /// of the largest messages; API requests are a few KiB): past it the connection's request
    /// data is not acknowledged (no WINDOW_UPDATE) until a handler takes what it holds, so a
    /// client that opens many streams with large unfinished bodies holds at most this plus the
    /// connection's window.
    public var connectionRequestBudget = 16 * 1024 * 1024

    /// PING frames a client may send: `burst` at once, refilled at `perSecond` (default 100, 10/s).
    public var pingLimit = RateLimit(burst: 100, perSecond: 10)
    /// SETTINGS frames a client may send (default 50 at once, 5/s).
    public var settingsLimit = RateLimit(burst: 50, perSecond: 5)
    /// RST_STREAM frames a client may send (default 1,000 at once, 33/s, nghttp2's defaults),
    /// against rapid reset.
    public var resetLimit = RateLimit(burst: 1000, perSecond: 33)
    /// Frames that carry nothing a request needs — empty DATA without END_STREAM, WINDOW_UPDATE,
    /// PRIORITY, unknown types (default 10,000 at once, 1,000/s).
    public var emptyFrameLimit = RateLimit(burst: 10_000, perSecond: 1000)
    /// CONTINUATION frames after one HEADERS frame (nghttp2's limit; default 8).
    public var maxContinuations = 8
    /// SETTINGS ACK and PING ACK frames queued for a client that does not read (default 1,000).
    public var maxOutboundAcks = 1000

    /// Time between the graceful-shutdown notice and the final GOAWAY (default 100 ms).
    public var goAwayGracePeriod: Duration = .milliseconds(100)
    /// How long in-flight calls may run after shutdown starts before connections are closed (default 10 s).
    public var shutdownTimeout: Duration = .seconds(10)
    /// A connection that never completes the HTTP/2 preface and SETTINGS is closed after this (default 10 s).
    public var handshakeTimeout: Duration = .seconds(10)
    /// A connection — HTTP/2 or HTTP/1.1 — whose client takes none of the bytes waiting for it
    /// for this long is closed (default 30 s).
    public var sendTimeout: Duration = .seconds(30)

    public init() {}

    /// A token bucket: `burst` tokens at first and at most, `perSecond` new tokens each second.
    public struct RateLimit: Sendable {
        public var burst: Int
        public var perSecond: Int

        public init(burst: Int, perSecond: Int) {
            self.burst = burst
            self.perSecond = perSecond
        }
    }
}
