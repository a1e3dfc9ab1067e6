import HTTP
import GRPCWire
import JSON
import NIOPosix

/// Twirp (protobuf bodies over HTTP/1.1, https when the URL says so): the same calls as
/// `GRPCClient`, through proxies that carry only HTTP/1.1. Unary calls only (Twirp has no streams).
public struct TwirpClient: ClientTransport {
    public let url: HTTPURL
    let tokens: (any TokenSource)?
    let client: HTTPClient
    /// For calls that set none.
    public var defaultTimeout: Duration = .seconds(30)

    /// `url`: the server (`http://host:port`, or `ws(s)://` as LiveKit URLs are written; the API is
    /// on the same host and port).
    public init(url: String, tokens: (any TokenSource)? = nil, caFile: String? = nil, maxResponseSize: Int = 4 * 1024 * 1024) throws {
        guard let parsed = HTTPURL(url) else { throw RPCError(.invalidArgument, "\(url) is not an http(s):// or ws(s):// URL") }
        self.url = parsed
        self.tokens = tokens
        client = try HTTPClient(group: MultiThreadedEventLoopGroup.singleton, caFile: caFile, maxResponseSize: maxResponseSize)
    }

    public func unary(_ method: MethodTarget, request: [UInt8], options: CallOptions) async throws -> ClientResponse {
        var headers = [("content-type", "application/protobuf")]
        if let tokens { headers.append(("authorization", "Bearer " + (try await tokens.token(for: method)))) }
        for (key, value) in options.metadata {
            if case .string(let text) = value { headers.append((key, text)) }
        }
        let base = url.target.hasSuffix("/") ? String(url.target.dropLast()) : url.target
        let response: HTTPClient.Response
        do {
            response = try await client.send("POST", url.with(path: "\(base)/twirp/\(method.service)/\(method.method)"), headers: headers,
                                             body: request, timeout: options.timeout ?? defaultTimeout)
        } catch {
            throw RPCError(.unavailable, "\(error)")
        }
        guard response.status == 200 else { throw Self.error(response) }
        return ClientResponse(message: response.body, metadata: Metadata(), trailers: Metadata())
    }

    public func serverStreaming(_ method: MethodTarget, request: [UInt8], options: CallOptions) async throws -> ResponseStream {
        throw RPCError(.unimplemented, "Twirp has no streaming calls; \(method.path) needs the gRPC transport")
    }

    /// A Twirp error body (`{"code": "not_found", "msg": ...}`) as the status it names.
    static func error(_ response: HTTPClient.Response) -> RPCError {
        guard let body = try? JSONParser.parse(response.body), case .string(let code)? = body["code"],
              case .string(let message)? = body["msg"] else {
            return RPCError(.unknown, "HTTP \(response.status) without a Twirp error")
        }
        var metadata = Metadata()
        if case .object(let members)? = body["meta"] {
            for (key, value) in members { if case .string(let text) = value { metadata.add(key, text) } }
        }
        return RPCError(TwirpCodes.status(of: code), message, metadata: metadata)
    }
}
