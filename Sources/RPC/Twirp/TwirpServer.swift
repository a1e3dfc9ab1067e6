import HTTP
import Logging
import NIOCore
import Protobuf
import Support

/// Twirp (v7) over the same router as gRPC: `POST /twirp/<package.Service>/<Method>` with a
/// protobuf (`application/protobuf`) or canonical-JSON (`application/json`) body, answered in
/// the request's encoding with status 200, or with Twirp's JSON error and the HTTP status of its
/// code. Calls run through the gRPC path's `CallExecutor`: one error model, two encodings.
public struct TwirpServer: Sendable {
    /// Requests under this path prefix are Twirp's.
    public static let pathPrefix = "/twirp/"

    let router: RPCRouter
    let configuration: RPCConfiguration
    let logger: Logger
    let executor: CallExecutor

    public init(router: RPCRouter, configuration: RPCConfiguration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
        executor = CallExecutor(configuration: configuration, logger: logger, transport: "twirp")
    }

    /// What the admitter found for a request's head, so that `respond` does not find it again.
    struct Admitted: Sendable {
        let route: RPCRouter.Route
        let metadata: Metadata
        let value: (any Sendable)?
    }

    /// The answer to one request.
    public func respond(_ request: HTTPRequest) async -> HTTPResponse {
        if let admitted = request.admission as? Admitted {
            return await respond(request, route: admitted.route, metadata: admitted.metadata, admission: admitted.value)
        }
        guard request.method == "POST" else {
            return error(TwirpError.badRoute, "unsupported method \(request.method) (only POST is allowed)")
        }
        let path = request.path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path.hasPrefix(Self.pathPrefix) else {
            return error(TwirpError.badRoute, "no handler for path \"\(path)\"")
        }
        let route: RPCRouter.Route
        switch router.route("/" + path.dropFirst(Self.pathPrefix.count)) {
        case .success(let found): route = found
        case .failure: return error(TwirpError.badRoute, "no handler for path \"\(path)\"")
        }
        return await respond(request, route: route, metadata: Self.metadata(from: request.headers), admission: request.admission)
    }

    private func respond(_ request: HTTPRequest, route: RPCRouter.Route, metadata: Metadata, admission: (any Sendable)?) async -> HTTPResponse {
        guard let handler = route.handler, case .unary = handler.kind else {
            return error(TwirpError.badRoute, "no handler for path \"\(request.path)\": \(route.method.name) is not a unary method")
        }
        let contentType = request.header("content-type") ?? ""
        guard let format = WireFormat(contentType: contentType) else {
            return error(TwirpError.badRoute, "unexpected Content-Type: \"\(contentType)\"")
        }
        let context = ServerContext(method: route.method, metadata: metadata, admission: admission, requestSize: request.body.readableBytes)
        switch await executor.unary(handler, request: request.body, format: format, context: context) {
        case .success(let answer):
            return HTTPResponse(status: 200, headers: [HeaderField("content-type", format.contentType)], body: ByteBuffer(bytes: answer.bytes))
        case .failure(let failure):
            let twirp = failure.isMalformedRequest ? TwirpError.malformed : TwirpError.twirpCode(failure.code)
            return error(twirp, failure.message, metadata: failure.metadata)
        }
    }

    private func error(_ twirp: (code: String, status: Int), _ message: String, metadata: Metadata = Metadata()) -> HTTPResponse {
        Self.errorResponse(twirp, message, metadata: metadata)
    }

    private static func errorResponse(_ twirp: (code: String, status: Int), _ message: String, metadata: Metadata = Metadata()) -> HTTPResponse {
        HTTPResponse(status: twirp.status, headers: [HeaderField("content-type", "application/json")],
                     body: ByteBuffer(bytes: TwirpError.body(code: twirp.code, message: message, metadata: metadata)))
    }

    /// The caller's metadata: the headers that are not the transport's.
    private static func metadata(from headers: [HeaderField]) -> Metadata {
        var metadata = Metadata()
        for field in headers where !transportHeaders.contains(field.name) && !field.name.hasSuffix("-bin") {
            metadata.add(field.name, field.value)
        }
        return metadata
    }

    /// Looks at a request's head before its body is read: the method's admission check (its
    /// token) runs here, so an unauthenticated caller's body is never buffered or decoded, and
    /// a method that takes small requests says so.
    public var admitter: HTTPAdmitter {
        { [router, executor] method, path, headers in
            let path = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard method == "POST", path.hasPrefix(Self.pathPrefix),
                  case .success(let route) = router.route("/" + path.dropFirst(Self.pathPrefix.count)),
                  let handler = route.handler else { return .admitted }
            let metadata = Self.metadata(from: headers)
            let value: (any Sendable)?
            switch executor.admit(handler, metadata: metadata, method: route.method) {
            case .success(let admitted): value = admitted
            case .failure(let failure):
                return .refused(Self.errorResponse(TwirpError.twirpCode(failure.code), failure.message, metadata: failure.metadata))
            }
            return .admitted(value: Admitted(route: route, metadata: metadata, value: value), maxBodySize: handler.maxRequestSize)
        }
    }

    /// Headers of the transport, not the caller's metadata.
    private static let transportHeaders: Set<String> = [
        "content-type", "content-length", "host", "connection", "accept", "accept-encoding", "user-agent",
        "transfer-encoding", "keep-alive", "twirp-version", "te",
    ]

    /// The `HTTPResponder` the HTTP server calls.
    public var responder: HTTPResponder {
        { request in await respond(request) }
    }
}

extension WireFormat {
    /// The content type of Twirp's request and response bodies.
    var contentType: String {
        switch self {
        case .protobuf: "application/protobuf"
        case .json: "application/json"
        }
    }

    /// `application/json;charset=UTF-8` is JSON; anything else than the two is refused.
    init?(contentType: String) {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingEnds().lowercased()
        } ?? ""
        switch mediaType {
        case "application/json": self = .json
        case "application/protobuf": self = .protobuf
        default: return nil
        }
    }
}
