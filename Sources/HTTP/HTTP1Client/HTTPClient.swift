import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A small HTTP/1.1 client for one request per connection: webhooks and the `egress` CLI.
/// https verifies the server's certificate against the system's roots, or `caFile`'s.
public final class HTTPClient: Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [(name: String, value: String)]
        public let body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name }?.value
        }
    }

    private let group: any EventLoopGroup
    private let tls: NIOSSLContext
    /// Bodies larger than this are refused (default 16 MiB).
    public let maxResponseSize: Int

    public init(group: any EventLoopGroup, caFile: String? = nil, maxResponseSize: Int = 16 << 20) throws {
        self.group = group
        self.maxResponseSize = maxResponseSize
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = ["http/1.1"]
        if let caFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        }
        tls = try NIOSSLContext(configuration: configuration)
    }

    /// Sends one request and returns the whole response; throws `HTTPClientError` on a
    /// transport failure or when `timeout` passes first.
    public func send(_ method: String, _ url: HTTPURL, headers: [(String, String)] = [], body: [UInt8] = [],
                     timeout: Duration = .seconds(10)) async throws -> Response {
        let tls = url.isTLS ? tls : nil
        let maxResponseSize = maxResponseSize
        let loop = group.next()
        // The collector is there from the start: a TLS handshake that fails (an untrusted
        // certificate) reaches it with its reason, before any request is written.
        let promise = loop.makePromise(of: Response.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.init(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            let sniHost = serverNameIndication(for: url.host)
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sniHost))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, limit: maxResponseSize))
                    }
                }
                .connect(host: url.host, port: url.port).get()
        } catch {
            promise.fail(error)
            throw HTTPClientError("cannot connect to \(url.hostHeader): \(error)")
        }
        let timer = channel.eventLoop.scheduleTask(in: .init(timeout)) {
            promise.fail(HTTPClientError("no answer from \(url.hostHeader) within \(timeout)"))
            channel.close(promise: nil)
        }
        var fields = HTTPHeaders(headers)
        fields.replaceOrAdd(name: "host", value: url.hostHeader)
        fields.replaceOrAdd(name: "content-length", value: String(body.count))
        fields.replaceOrAdd(name: "connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: url.target, headers: fields)
        try await channel.eventLoop.submit {
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
        }.get()
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as HTTPClientError {
            throw error
        } catch {
            throw HTTPClientError("request to \(url.hostHeader) failed: \(error)")
        }
    }
}

/// A transport failure, with what went wrong.
public struct HTTPClientError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Gathers the response and completes the promise at its end (or the connection's).
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<HTTPClient.Response>
    private let limit: Int
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<HTTPClient.Response>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(let chunk):
            guard body.count + chunk.readableBytes <= limit else {
                promise.fail(HTTPClientError("the response is larger than \(limit) bytes"))
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: chunk.readableBytesView)
        case .end:
            guard let head else { return }
            promise.succeed(.init(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(HTTPClientError("the connection closed before a whole response"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
