import NIOCore

/// A whole request, body included, as the request/response protocols on top of HTTP see it
/// (Twirp), whether it came over HTTP/1.1 or HTTP/2.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target: path and query.
    public var path: String
    /// Header fields with lowercase names, in the order received.
    public var headers: [HeaderField]
    public var body: ByteBuffer
    /// "HTTP/1.1", "HTTP/1.0" or "HTTP/2".
    public var version: String
    /// What the application's admission check returned for this request's head (a verified
    /// token, say), so that it is not done twice.
    public var admission: (any Sendable)?

    public init(method: String, path: String, headers: [HeaderField], body: ByteBuffer, version: String) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.version = version
    }

    /// The first value of a (lowercase) header.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// A whole response. `content-length` is added by the transport.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [HeaderField]
    public var body: ByteBuffer

    public init(status: Int, headers: [HeaderField] = [], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Answers whole requests. Called off the event loop; the transport writes what it returns.
public typealias HTTPResponder = @Sendable (HTTPRequest) async -> HTTPResponse

/// What an application says of a request from its head alone, before any of its body is read.
public enum HTTPAdmission: Sendable {
    /// Read the body (at most `maxBodySize` bytes, when given) and answer it; `value` reaches the
    /// responder as `HTTPRequest.admission`.
    case admitted(value: (any Sendable)?, maxBodySize: Int?)
    /// Answer this at once; the body is not read.
    case refused(HTTPResponse)

    public static let admitted = HTTPAdmission.admitted(value: nil, maxBodySize: nil)
}

/// Looks at a buffered request's method, path and headers before its body is read. Called on
/// the connection's event loop; must not block.
public typealias HTTPAdmitter = @Sendable (_ method: String, _ path: String, _ headers: [HeaderField]) -> HTTPAdmission

/// What the server does with requests: gRPC streams through `streams`, and requests whose path
/// starts with one of `bufferedPathPrefixes` or is one of `bufferedPaths` (and every HTTP/1.1
/// request) whole through `responder`.
public struct HTTPApplication: Sendable {
    public var streams: HTTP2StreamHandlerFactory
    public var responder: HTTPResponder
    public var bufferedPathPrefixes: [String]
    /// Paths (without their query) answered whole as they are, not as prefixes: `/`, say.
    public var bufferedPaths: Set<String> = []
    /// Run on each buffered request's head: an unauthenticated request is refused before its
    /// body is read, let alone decoded.
    public var admit: HTTPAdmitter

    public init(streams: @escaping HTTP2StreamHandlerFactory, responder: @escaping HTTPResponder, bufferedPathPrefixes: [String],
                admit: @escaping HTTPAdmitter = { _, _, _ in .admitted }) {
        self.streams = streams
        self.responder = responder
        self.bufferedPathPrefixes = bufferedPathPrefixes
        self.admit = admit
    }

    public init(streams: @escaping HTTP2StreamHandlerFactory, responder: @escaping HTTPResponder, bufferedPathPrefix: String,
                admit: @escaping HTTPAdmitter = { _, _, _ in .admitted }) {
        self.init(streams: streams, responder: responder, bufferedPathPrefixes: [bufferedPathPrefix], admit: admit)
    }

    /// For a server of gRPC only: every HTTP/1.1 request is answered 404.
    public init(streams: @escaping HTTP2StreamHandlerFactory) {
        self.init(streams: streams, responder: { _ in HTTPResponse(status: 404) }, bufferedPathPrefixes: [])
    }

    /// Whether an HTTP/2 request to `path` is answered whole by `responder` (else it is a gRPC stream).
    public func isBuffered(_ path: String) -> Bool {
        if bufferedPathPrefixes.contains(where: { path.hasPrefix($0) }) { return true }
        guard !bufferedPaths.isEmpty else { return false }
        return bufferedPaths.contains(String(path.prefix { $0 != "?" }))
    }
}
