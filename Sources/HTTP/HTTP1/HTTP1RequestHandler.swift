import Logging
import NIOCore
import NIOHTTP1

/// Collects each HTTP/1.1 request whole (within the size limits), has the responder answer it,
/// and writes the answer with `content-length`. Requests are answered one at a time, in order:
/// NIO's pipelining handler before this one holds a pipelined request until the previous
/// response is written. `connection: close`, HTTP/1.0 without keep-alive, and every refusal
/// close the connection after the response.
final class HTTP1RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: HTTPResponder
    private let configuration: HTTP1Configuration
    private let guardian: SlowClientGuard
    private let executor: EventLoopTaskExecutor
    private let logger: Logger
    private var request: (head: HTTPRequestHead, body: ByteBuffer)?
    /// A refusal was sent; the rest of the input is ignored until the connection closes.
    private var isClosing = false
    /// From a request's head until its response is written.
    private var isBusy = false
    /// The server is shutting down: the connection closes after the response in progress.
    private var isShuttingDown = false

    init(responder: @escaping HTTPResponder, configuration: HTTP1Configuration, guardian: SlowClientGuard,
         executor: EventLoopTaskExecutor, logger: Logger) {
        self.responder = responder
        self.configuration = configuration
        self.guardian = guardian
        self.executor = executor
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > configuration.maxBodySize {
                return refuse(context, .payloadTooLarge, "the request body of \(length) bytes exceeds the limit of \(configuration.maxBodySize) bytes")
            }
            isBusy = true
            request = (head, context.channel.allocator.buffer(capacity: 0))
        case .body(var chunk):
            guard request != nil else { return }
            guard request!.body.readableBytes + chunk.readableBytes <= configuration.maxBodySize else {
                return refuse(context, .payloadTooLarge, "the request body exceeds the limit of \(configuration.maxBodySize) bytes")
            }
            request!.body.writeBuffer(&chunk)
        case .end:
            guard let (head, body) = request else { return }
            request = nil
            guardian.requestReceived()
            answer(context, head, body)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is HTTPGracefulShutdownEvent {
            isShuttingDown = true
            if !isBusy { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !isClosing else { return }
        if let error = error as? HTTPParserError {
            let status: HTTPResponseStatus = error == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
            logger.debug("refusing a malformed HTTP/1.1 request", metadata: ["error": "\(error)"])
            refuse(context, status, status == .badRequest ? "malformed HTTP/1.1 request" : "the request head exceeds \(configuration.maxHeadSize) bytes")
        } else {
            context.close(promise: nil)
        }
    }

    private func answer(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ body: ByteBuffer) {
        let request = HTTPRequest(
            method: head.method.rawValue, path: head.uri,
            headers: head.headers.map { HeaderField($0.name.lowercased(), $0.value) },
            body: body, version: "HTTP/\(head.version.major).\(head.version.minor)")
        let keepAlive = head.isKeepAlive
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let responder = responder
        // On the connection's loop: a responder that never suspends answers inline.
        Task.immediate(executorPreference: executor) {
            let response = await responder(request)
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.write(context, response, version: head.version, keepAlive: keepAlive)
            }
        }
    }

    private func write(_ context: ChannelHandlerContext, _ response: HTTPResponse, version: HTTPVersion, keepAlive: Bool) {
        guard context.channel.isActive else { return }
        isBusy = false
        let keepAlive = keepAlive && !isShuttingDown
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        else if version.minor == 0 { headers.replaceOrAdd(name: "connection", value: "keep-alive") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .init(statusCode: response.status), headers: headers))), promise: nil)
        if response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let guardian = guardian
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { result in
            if case .success = result, keepAlive {
                guardian.responseSent()
            } else {
                context.close(promise: nil)
            }
        }
    }

    /// Answers `status` with a text body and closes: what is left of the request is not read.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ message: String) {
        isClosing = true
        request = nil
        var body = context.channel.allocator.buffer(capacity: message.utf8.count + 1)
        body.writeString(message + "\n")
        let headers = HTTPHeaders([("content-type", "text/plain; charset=utf-8"), ("content-length", String(body.readableBytes)), ("connection", "close")])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
