import HTTP
import Logging
import NIOCore
import Protobuf
import Support

/// Twirp (v7) over the same router as gRPC: `POST /twirp/<package.Service>/<Method>` with a
/// protobuf (`application/protobuf`) or canonical-JSON (`application/json`) body, answered in
/// the request's encoding with status 200, or with Twirp's JSON error and the HTTP status of its
/// code. Handlers, and so errors, are the gRPC path's: one error model, two encodings.
public struct TwirpServer: Sendable {
    /// Requests under this path prefix are Twirp's.
    public static let pathPrefix = "/twirp/"

    let router: RPCRouter
    let configuration: RPCConfiguration
    let logger: Logger

    public init(router: RPCRouter, configuration: RPCConfiguration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
    }

    enum Encoding {
        case protobuf, json

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
        guard let handler = route.handler, case .unary(let body) = handler.kind else {
            return error(TwirpError.badRoute, "no handler for path \"\(request.path)\": \(route.method.name) is not a unary method")
        }
        let contentType = request.header("content-type") ?? ""
        guard let encoding = Encoding(contentType: contentType) else {
            return error(TwirpError.badRoute, "unexpected Content-Type: \"\(contentType)\"")
        }
        let message: ProtoMessage
        do {
            message = try decode(request.body, encoding, as: route.method.input)
        } catch let error as ProtoError where error.isInvalidValue {
            return self.error(TwirpError.twirpCode(.invalidArgument), "invalid request: \(error.message)")
        } catch {
            return self.error(TwirpError.malformed, "the \(encoding == .json ? "json" : "protobuf") request could not be decoded: \(error)")
        }
        let serverRequest = ServerRequest(message: message, encodedSize: request.body.readableBytes, metadata: metadata,
                                          context: ServerContext(method: route.method, deadline: nil, admission: admission))
        do {
            let response = try await body(serverRequest)
            let bytes: [UInt8] = switch encoding {
            case .protobuf: response.message.encoded()
            case .json: Array(response.message.json(.twirp).text.utf8)
            }
            return HTTPResponse(status: 200, headers: [HeaderField("content-type", encoding.contentType)], body: ByteBuffer(bytes: bytes))
        } catch let failure as RPCError {
            return error(TwirpError.twirpCode(failure.code), failure.message, metadata: failure.metadata)
        } catch is CancellationError {
            return error(TwirpError.twirpCode(.cancelled), "the call was cancelled")
        } catch {
            logger.error("handler failed", metadata: ["method": "\(route.method.path)", "error": "\(error)"])
            return self.error(TwirpError.twirpCode(.internal), "internal error")
        }
    }

    private func decode(_ body: ByteBuffer, _ encoding: Encoding, as descriptor: MessageDescriptor) throws -> ProtoMessage {
        guard body.readableBytes <= configuration.maxReceiveMessageSize else {
            throw ProtoBodyTooLarge(limit: configuration.maxReceiveMessageSize)
        }
        switch encoding {
        case .protobuf:
            return try body.withUnsafeReadableBytes { bytes throws(ProtoError) in try ProtoMessage(decoding: bytes, as: descriptor) }
        case .json:
            // An empty body is an empty message, as Twirp's generated servers take it.
            let bytes = Array(body.readableBytesView)
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return ProtoMessage(descriptor) }
            return try ProtoMessage(jsonText: bytes, as: descriptor)
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
        { [router] method, path, headers in
            let path = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard method == "POST", path.hasPrefix(Self.pathPrefix),
                  case .success(let route) = router.route("/" + path.dropFirst(Self.pathPrefix.count)),
                  let handler = route.handler else { return .admitted }
            let metadata = Self.metadata(from: headers)
            var value: (any Sendable)?
            if let admit = handler.admission {
                do {
                    value = try admit(metadata)
                } catch {
                    let failure = error as? RPCError ?? RPCError(.unauthenticated, "\(error)")
                    return .refused(Self.errorResponse(TwirpError.twirpCode(failure.code), failure.message, metadata: failure.metadata))
                }
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

struct ProtoBodyTooLarge: Error, CustomStringConvertible {
    let limit: Int
    var description: String { "the body exceeds the limit of \(limit) bytes" }
}
