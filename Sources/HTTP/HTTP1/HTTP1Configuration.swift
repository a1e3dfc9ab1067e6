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

    public init() {}
}
