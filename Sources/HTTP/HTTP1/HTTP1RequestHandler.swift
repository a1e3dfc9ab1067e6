import Logging
import NIOCore
import NIOHTTP1

/// Collects each HTTP/1.1 request whole (within the size limits), has the responder answer it,
/// and writes the answer with `content-length`. Pipelined requests wait in order, at most
/// `maxPipelinedRequests` of them, and are answered one at a time; while the client has more
/// than `responseBudget` bytes of answers unread, the next waits and nothing more is read.
/// `connection: close`, HTTP/1.0 without keep-alive, and every refusal close the connection
/// after the response.
final class HTTP1RequestHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private struct Request {
        var head: HTTPRequestHead
        /// The head's fields, names lowercased.
        var headers: [HeaderField]
        var body: ByteBuffer
        /// What the admission check returned.
        var admission: (any Sendable)?
        var maxBodySize: Int
    }

    /// What waits for its turn: a request to answer, or a refusal to send (after the answers
    /// before it, so that answers stay in order) and then close.
    private enum Turn {
        case request(Request)
        case refusal(HTTPResponse)

        var bytes: Int {
            if case .request(let request) = self { request.body.readableBytes } else { 0 }
        }
    }

    private let responder: HTTPResponder
    private let admit: HTTPAdmitter
    private let configuration: HTTP1Configuration
    private let guardian: SlowClientGuard
    private let executor: EventLoopTaskExecutor
    private let logger: Logger
    /// The request whose parts are arriving.
    private var receiving: Request?
    /// Whole requests (and at most one refusal, last) waiting for their turn, oldest first.
    private var waiting: [Turn] = []
    /// A responder is working on a request.
    private var isAnswering = false
    /// Bytes of answers written to the channel and not yet sent.
    private var unsentBytes = 0
    /// A read that was held back (over budget, or the queue full).
    private var readHeld = false
    /// No request after those waiting will be answered: the connection closes after them.
    private var closesAfterWaiting = false
    /// A refusal was sent; the rest of the input is ignored until the connection closes.
    private var isClosing = false
    private var isShuttingDown = false

    init(responder: @escaping HTTPResponder, admit: @escaping HTTPAdmitter, configuration: HTTP1Configuration,
         guardian: SlowClientGuard, executor: EventLoopTaskExecutor, logger: Logger) {
        self.responder = responder
        self.admit = admit
        self.configuration = configuration
        self.guardian = guardian
        self.executor = executor
        self.logger = logger
    }

    // MARK: Requests in

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing, !closesAfterWaiting else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            // Before any of the body is read: an unauthenticated request goes no further.
            let admission: (any Sendable)?
            var limit = configuration.maxBodySize
            let headers = head.headers.map { HeaderField($0.name.lowercased(), $0.value) }
            switch admit(head.method.rawValue, head.uri, headers) {
            case .refused(let response): return refuse(context, response)
            case .admitted(let value, let bodyLimit):
                admission = value
                if let bodyLimit { limit = min(limit, bodyLimit) }
            }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > limit {
                return refuse(context, .payloadTooLarge, "the request body of \(length) bytes exceeds the limit of \(limit) bytes")
            }
            receiving = Request(head: head, headers: headers, body: context.channel.allocator.buffer(capacity: 0), admission: admission,
                                maxBodySize: limit)
        case .body(var chunk):
            guard let limit = receiving?.maxBodySize else { return }
            guard receiving!.body.readableBytes + chunk.readableBytes <= limit else {
                return refuse(context, .payloadTooLarge, "the request body exceeds the limit of \(limit) bytes")
            }
            receiving!.body.writeBuffer(&chunk)
        case .end:
            guard let request = receiving else { return }
            receiving = nil
            guard owed < configuration.maxPipelinedRequests else {
                // Not answered: the client sends it again on a new connection.
                logger.debug("closing after the pipelined requests already waiting", metadata: ["waiting": "\(waiting.count)"])
                closesAfterWaiting = true
                return
            }
            waiting.append(.request(request))
            if !request.head.isKeepAlive { closesAfterWaiting = true }
            answerNext(context)
        }
    }

    /// Backpressure: nothing more is read while answers are piling up unread or requests wait.
    func read(context: ChannelHandlerContext) {
        if mayRead {
            context.read()
        } else {
            readHeld = true
        }
    }

    private var mayRead: Bool {
        isClosing || (unsentBytes < configuration.responseBudget && owed < configuration.maxPipelinedRequests
                      && (waiting.isEmpty || waiting.reduce(0, { $0 + $1.bytes }) < configuration.maxBodySize))
    }

    /// Requests taken and not yet answered.
    private var owed: Int { waiting.count + (isAnswering ? 1 : 0) }

    private func resumeReading(_ context: ChannelHandlerContext) {
        guard readHeld, mayRead else { return }
        readHeld = false
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is HTTPGracefulShutdownEvent {
            // The answer in progress is the last; requests still waiting are sent again elsewhere.
            isShuttingDown = true
            waiting.removeAll()
            if !isAnswering && unsentBytes == 0 { context.close(promise: nil) }
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

    // MARK: Answers out

    /// Answers the oldest waiting request, if none is being answered and the client has room.
    private func answerNext(_ context: ChannelHandlerContext) {
        guard !isAnswering, unsentBytes < configuration.responseBudget, !waiting.isEmpty else { return }
        let request: Request
        switch waiting.removeFirst() {
        case .request(let next): request = next
        case .refusal(let response): return sendRefusal(context, response)
        }
        isAnswering = true
        guardian.requestReceived()
        let head = request.head
        var httpRequest = HTTPRequest(method: head.method.rawValue, path: head.uri, headers: request.headers, body: request.body,
                                      version: "HTTP/\(head.version.major).\(head.version.minor)")
        httpRequest.admission = request.admission
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let responder = responder
        // On the connection's loop: a responder that never suspends answers inline.
        Task.immediate(executorPreference: executor) {
            let response = await responder(httpRequest)
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.write(context, response, version: head.version, keepAlive: head.isKeepAlive)
            }
        }
    }

    private func write(_ context: ChannelHandlerContext, _ response: HTTPResponse, version: HTTPVersion, keepAlive: Bool) {
        isAnswering = false
        guard context.channel.isActive else { return }
        let keepAlive = keepAlive && !isShuttingDown && !(closesAfterWaiting && waiting.isEmpty)
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        else if version.minor == 0 { headers.replaceOrAdd(name: "connection", value: "keep-alive") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .init(statusCode: response.status), headers: headers))), promise: nil)
        if response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let size = response.body.readableBytes
        unsentBytes += size
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { result in
            self.unsentBytes -= size
            guard case .success = result, keepAlive else { return context.close(promise: nil) }
            self.answerNext(context)
            self.resumeReading(context)
            if !self.isAnswering, self.waiting.isEmpty, self.unsentBytes == 0 {
                self.guardian.responseSent(requestUnderway: self.receiving != nil)
            }
        }
        guard keepAlive else { return }
        answerNext(context)
    }

    /// Answers `status` with a text body and closes, after the answers owed before it: what is
    /// left of the input is not read.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ message: String) {
        var body = context.channel.allocator.buffer(capacity: message.utf8.count + 1)
        body.writeString(message + "\n")
        refuse(context, HTTPResponse(status: Int(status.code), headers: [HeaderField("content-type", "text/plain; charset=utf-8")], body: body))
    }

    private func refuse(_ context: ChannelHandlerContext, _ response: HTTPResponse) {
        isClosing = true
        receiving = nil
        waiting.append(.refusal(response))
        answerNext(context)
        resumeReading(context)
    }

    private func sendRefusal(_ context: ChannelHandlerContext, _ response: HTTPResponse) {
        waiting.removeAll()
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        headers.replaceOrAdd(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
