import NIOCore

/// One header field of a request or response.
public struct HeaderField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The request line and headers of one HTTP/2 stream.
public struct HTTP2RequestHead: Sendable {
    public var method: String = ""
    public var path: String = ""
    public var scheme: String = ""
    public var authority: String = ""
    /// The regular (non-pseudo) header fields, in the order received.
    public var headers: [HeaderField] = []
    /// Set when the decoded header list exceeded the advertised limit: the headers are incomplete
    /// and the request must be refused.
    public var headerListTooLarge: (size: Int, limit: Int)?

    public init() {}

    /// The first value of a (lowercase) header.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// What the layer above HTTP/2 does with one request stream. All calls arrive on the
/// connection's event loop, in this order: head, then data chunks, then end (if the client
/// finishes its side), and finally `streamClosed` exactly once.
public protocol HTTP2StreamHandler: AnyObject {
    func receiveHead(_ head: HTTP2RequestHead)
    func receiveData(_ data: ByteBuffer)
    /// The client ended its side of the stream (END_STREAM).
    func receiveEnd()
    /// The stream is gone: `error` is nil when it completed normally, otherwise the reason
    /// (the client's RST_STREAM code, or `.cancel` when the connection closed under it).
    func streamClosed(error: HTTP2ErrorCode?)
}

/// Makes the handler of each new stream; called on the connection's event loop.
public typealias HTTP2StreamHandlerFactory = @Sendable (HTTP2Stream) -> any HTTP2StreamHandler
