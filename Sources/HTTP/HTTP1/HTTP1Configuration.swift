/// Limits of HTTP/1.1 connections. Every value has a documented default.
public struct HTTP1Configuration: Sendable {
    /// The largest request body accepted (default 4 MiB); a larger one is answered 413 and the
    /// connection is closed.
    public var maxBodySize = 4 * 1024 * 1024
    /// The largest request head (request line and headers) accepted (default 16 KiB); a larger
    /// one is answered 431 and the connection is closed.
    public var maxHeadSize = 16 * 1024
    /// A request must arrive whole — head and body — within this time of its first byte
    /// (default 10 s), else 408 and the connection is closed: slow-loris clients hold nothing long.
    public var requestReadTimeout: Duration = .seconds(10)
    /// A keep-alive connection with no request in progress is closed after this (default 60 s).
    public var idleTimeout: Duration = .seconds(60)
    /// Response bytes a connection may have written and not yet sent (default 4 MiB): past it the
    /// next pipelined request waits, and nothing more is read, until the client reads. A client
    /// that stops reading costs at most this plus one response.
    public var responseBudget = 4 * 1024 * 1024
    /// Pipelined requests a connection may have waiting for their answers, the one being
    /// answered included (default 16). A client that pipelines more gets the answers to these,
    /// the last with `connection: close`, and the connection closes: it sends the rest again on
    /// a new one (RFC 9112 §9.3.2).
    public var maxPipelinedRequests = 16

    public init() {}
}
