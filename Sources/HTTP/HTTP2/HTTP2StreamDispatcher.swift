import NIOCore

/// The handler of every HTTP/2 stream until its head arrives: then a stream whose path starts
/// with the application's buffered prefix (Twirp) is collected whole and answered by its
/// responder, and any other goes to the stream handler (gRPC).
final class HTTP2StreamDispatcher: HTTP2StreamHandler {
    private let stream: HTTP2Stream
    private let application: HTTPApplication
    private let maxBodySize: Int
    private var target: (any HTTP2StreamHandler)?

    init(stream: HTTP2Stream, application: HTTPApplication, maxBodySize: Int) {
        self.stream = stream
        self.application = application
        self.maxBodySize = maxBodySize
    }

    func receiveHead(_ head: HTTP2RequestHead) {
        let handler: any HTTP2StreamHandler = application.isBuffered(head.path)
            ? BufferedHTTP2Request(stream: stream, responder: application.responder, admit: application.admit, maxBodySize: maxBodySize)
            : application.streams(stream)
        target = handler
        handler.receiveHead(head)
    }

    func receiveData(_ data: ByteBuffer) { target?.receiveData(data) }
    func receiveEnd() { target?.receiveEnd() }
    func streamClosed(error: HTTP2ErrorCode?) { target?.streamClosed(error: error) }
}

/// One HTTP/2 request collected whole (up to a size limit) and answered by an `HTTPResponder`.
final class BufferedHTTP2Request: HTTP2StreamHandler, @unchecked Sendable {
    private let stream: HTTP2Stream
    private let responder: HTTPResponder
    private let admit: HTTPAdmitter
    private var maxBodySize: Int
    private var request: HTTPRequest?
    private var task: Task<Void, Never>?

    init(stream: HTTP2Stream, responder: @escaping HTTPResponder, admit: @escaping HTTPAdmitter, maxBodySize: Int) {
        self.stream = stream
        self.responder = responder
        self.admit = admit
        self.maxBodySize = maxBodySize
    }

    func receiveHead(_ head: HTTP2RequestHead) {
        if let (size, limit) = head.headerListTooLarge {
            return refuse(431, "request headers of \(size) bytes exceed the limit of \(limit) bytes")
        }
        var request = HTTPRequest(method: head.method, path: head.path, headers: head.headers, body: ByteBuffer(), version: "HTTP/2")
        switch admit(head.method, head.path, head.headers) {
        case .refused(let response):
            stream.resetAfterResponse()
            return send(response)
        case .admitted(let value, let limit):
            request.admission = value
            if let limit { maxBodySize = min(maxBodySize, limit) }
        }
        self.request = request
    }

    func receiveData(_ data: ByteBuffer) {
        guard request != nil else { return }
        guard request!.body.readableBytes + data.readableBytes <= maxBodySize else {
            return refuse(413, "the request body exceeds the limit of \(maxBodySize) bytes")
        }
        var data = data
        request!.body.writeBuffer(&data)
    }

    func receiveEnd() {
        guard let request else { return }
        self.request = nil
        // As gRPC calls do: an answer is made only while the client is reading the ones before.
        if stream.connectionHasRoom {
            respond(to: request)
        } else {
            let loopBound = NIOLoopBound(self, eventLoop: stream.eventLoop)
            stream.whenConnectionHasRoom { loopBound.value.respond(to: request) }
        }
    }

    private func respond(to request: HTTPRequest) {
        // The body is the responder's now: it no longer counts against the connection's budget.
        stream.requestBytesTaken()
        let stream = stream
        let responder = responder
        task = Task.immediate(executorPreference: stream.executor) {
            let response = await responder(request)
            guard !Task.isCancelled else { return }
            Self.send(response, on: stream)
        }
    }

    private func send(_ response: HTTPResponse) {
        Self.send(response, on: stream)
    }

    private static func send(_ response: HTTPResponse, on stream: HTTP2Stream) {
        var headers = [HeaderField(":status", String(response.status))] + response.headers
        headers.append(HeaderField("content-length", String(response.body.readableBytes)))
        stream.sendHeaders(headers)
        stream.sendData(response.body)
        stream.finish()
    }

    func streamClosed(error: HTTP2ErrorCode?) {
        if error != nil { task?.cancel() }
        request = nil
    }

    private func refuse(_ status: Int, _ message: String) {
        request = nil
        var body = ByteBuffer()
        body.writeString(message + "\n")
        stream.resetAfterResponse()
        send(HTTPResponse(status: status, headers: [HeaderField("content-type", "text/plain; charset=utf-8")], body: body))
    }
}
