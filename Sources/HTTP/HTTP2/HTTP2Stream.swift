import NIOCore

/// The server's side of one HTTP/2 stream: how the layer above answers a request.
///
/// Its methods may be called from any thread; they run on the connection's event loop (at once
/// when already there). A response is `sendHeaders`, then any number of `sendData`, then
/// `finish` (with or without trailers) — or headers with `endStream` for a body-less answer.
public final class HTTP2Stream: @unchecked Sendable {
    public let id: Int32
    /// Runs tasks on the connection's event loop: handlers prefer it, so they answer without a thread hop.
    public let executor: EventLoopTaskExecutor
    public var eventLoop: any EventLoop { executor.eventLoop }

    // Confined to the event loop.
    weak var session: HTTP2Session?
    var pending: ByteBuffer?
    var pendingTrailers: [HeaderField]?
    var isFinished = false
    var isDeferred = false
    var headersSent = false
    var isClosed = false
    var resetsAfterResponse = false
    private var drainWaiters: [() -> Void] = []
    /// Work waiting for the connection's budget, run (once) when the stream closes instead.
    private var roomWaiters: [Int: () -> Void] = [:]
    private var nextRoomWaiter = 0

    /// Buffered response bytes above which `whenDrained` callbacks wait (default 256 KiB).
    public static let bufferHighWatermark = 256 * 1024

    init(id: Int32, executor: EventLoopTaskExecutor, session: HTTP2Session) {
        self.id = id
        self.executor = executor
        self.session = session
    }

    /// Sends the response headers; with `endStream` they are the whole response.
    public func sendHeaders(_ headers: [HeaderField], endStream: Bool = false) {
        onLoop { stream in
            guard !stream.isClosed, !stream.headersSent, let session = stream.session else { return }
            stream.headersSent = true
            stream.isFinished = endStream
            session.submitResponse(stream, headers: headers, withBody: !endStream)
        }
    }

    /// Queues body bytes after the headers.
    public func sendData(_ data: ByteBuffer) {
        onLoop { stream in
            guard !stream.isClosed, !stream.isFinished, stream.headersSent else { return }
            stream.session?.responseBytesQueued(data.readableBytes)
            if stream.pending == nil {
                stream.pending = data
            } else {
                var data = data
                stream.pending!.writeBuffer(&data)
            }
            stream.resume()
        }
    }

    /// Ends the response, with trailers when given (gRPC always sends them).
    public func finish(trailers: [HeaderField]? = nil) {
        onLoop { stream in
            guard !stream.isClosed, !stream.isFinished, stream.headersSent else { return }
            stream.isFinished = true
            stream.pendingTrailers = trailers
            stream.resume()
        }
    }

    /// Resets the stream with RST_STREAM.
    public func reset(_ code: HTTP2ErrorCode) {
        onLoop { stream in
            guard !stream.isClosed, let session = stream.session else { return }
            session.submitReset(stream, code: code)
        }
    }

    /// Once the response has been sent in full, refuses the rest of the request body with
    /// RST_STREAM(NO_ERROR), as RFC 9113 §8.1 allows a server that answered early.
    public func resetAfterResponse() {
        onLoop { $0.resetsAfterResponse = true }
    }

    /// For the response body.
    public var allocator: ByteBufferAllocator { ByteBufferAllocator() }

    /// Whether the connection is under its response budget with nobody waiting (event loop only).
    public var connectionHasRoom: Bool {
        eventLoop.preconditionInEventLoop()
        return session?.hasRoomForResponses ?? false
    }

    /// Calls `body` on the event loop once the connection has room for more response bytes
    /// (see `HTTP2Configuration.connectionResponseBudget`); never if the stream closes first.
    public func whenConnectionHasRoom(_ body: @escaping @Sendable () -> Void) {
        onLoop { stream in
            stream.session?.whenRoomForResponses { if !stream.isClosed { body() } }
        }
    }

    /// Calls `body` once, on the event loop, when this stream may queue more of a streaming
    /// response: its own buffer under the high watermark and the connection under its response
    /// budget — or the stream gone (the writer then finds it closed).
    public func whenReadyForMore(_ body: @escaping @Sendable () -> Void) {
        whenDrained { [self] in
            guard !isClosed, let session, !session.hasRoomForResponses else { return body() }
            let id = nextRoomWaiter
            nextRoomWaiter += 1
            roomWaiters[id] = body
            session.whenRoomForResponses { [self] in roomWaiters.removeValue(forKey: id)?() }
        }
    }

    /// The handler has taken the request bytes received so far (a whole message, a whole body):
    /// they no longer count against the connection's request budget.
    public func requestBytesTaken() {
        onLoop { stream in stream.session?.requestBytesTaken(stream.id) }
    }

    /// The stream is gone: whatever waits on it runs now.
    func notifyClosed() {
        notifyDrainedIfBelowWatermark()
        let waiters = roomWaiters
        roomWaiters = [:]
        waiters.values.forEach { $0() }
    }

    /// Calls `body` on the event loop once the buffered response is below the high watermark
    /// (or the stream is closed): backpressure for streaming responses.
    public func whenDrained(_ body: @escaping @Sendable () -> Void) {
        onLoop { stream in
            if stream.isClosed || (stream.pending?.readableBytes ?? 0) < Self.bufferHighWatermark {
                body()
            } else {
                stream.drainWaiters.append(body)
            }
        }
    }

    func notifyDrainedIfBelowWatermark() {
        guard !drainWaiters.isEmpty, isClosed || (pending?.readableBytes ?? 0) < Self.bufferHighWatermark else { return }
        let waiters = drainWaiters
        drainWaiters = []
        waiters.forEach { $0() }
    }

    private func resume() {
        guard isDeferred, let session else { return }
        isDeferred = false
        session.resumeData(self)
    }

    private func onLoop(_ body: @escaping @Sendable (HTTP2Stream) -> Void) {
        if eventLoop.inEventLoop {
            body(self)
        } else {
            eventLoop.execute { body(self) }
        }
    }
}
