import NIOCore

/// The life of one gRPC call on its stream, as a value: each event of the stream or of the
/// handler's task goes in, and what to do comes out. It does no I/O; `GRPCCallHandler` does
/// what it says. It owns the rules of the protocol: one request message for a unary call, no
/// message cut off by the end of the request, headers before any message, the status sent
/// exactly once (Trailers-Only when nothing went before it), nothing sent after it.
struct GRPCCallStateMachine {
    /// One length-prefixed request message.
    struct Frame: Equatable {
        let compressed: Bool
        let payload: ByteBuffer
    }

    enum Action: Equatable {
        case none
        /// The request is complete: run the handler with its one message.
        case run(Frame)
        /// Request messages of a streaming call, for its running handler.
        case deliver([Frame])
        /// The client ended a streaming call's requests.
        case endRequests
        /// Answer with `status`, as a Trailers-Only response when no headers went out. With
        /// `stopRequest` the rest of the request body is refused; with `cancelHandler` the
        /// running handler is cancelled and a streaming call's requests end in failure.
        case sendStatus(RPCError, trailersOnly: Bool, stopRequest: Bool, cancelHandler: Bool)
    }

    private enum State {
        case awaitingHead
        /// A unary or server-streaming call collects its one request message.
        case collecting(MessageDeframer, request: Frame?)
        /// The request is complete; the connection is over its response budget, so the call
        /// waits for the client to read what it was already sent.
        case waitingForRoom
        /// The handler runs; a streaming call's request side is open while it has a deframer.
        case running(requests: MessageDeframer?)
        /// The status has been sent, or the stream is gone.
        case done
    }

    private var state = State.awaitingHead
    private var methodName = ""
    /// Whether the response headers went out (then a status goes in trailers).
    private(set) var headersSent = false

    var isDone: Bool {
        if case .done = state { true } else { false }
    }

    /// The head was accepted. A bidirectional call runs from here and takes its messages as they
    /// come; any other collects its one message first. No message may be over `limit` bytes.
    mutating func accept(method: String, streamingRequests: Bool, limit: Int) {
        guard case .awaitingHead = state else { return }
        methodName = method
        state = streamingRequests ? .running(requests: MessageDeframer(maxMessageSize: limit))
                                  : .collecting(MessageDeframer(maxMessageSize: limit), request: nil)
    }

    mutating func receiveData(_ data: ByteBuffer) -> Action {
        switch state {
        case .collecting(var deframer, var request):
            state = .done  // not kept while the deframer is changed
            deframer.append(data)
            do throws(RPCError) {
                while let (compressed, payload) = try deframer.next() {
                    guard request == nil else {
                        throw RPCError(.internal, "\(methodName) takes one request message; the client sent more")
                    }
                    request = Frame(compressed: compressed, payload: payload)
                }
            } catch {
                state = .collecting(deframer, request: request)
                return fail(error, stopRequest: true)
            }
            state = .collecting(deframer, request: request)
            return .none
        case .running(var deframer?):
            state = .done
            deframer.append(data)
            var frames: [Frame] = []
            do {
                while let (compressed, payload) = try deframer.next() {
                    frames.append(Frame(compressed: compressed, payload: payload))
                }
            } catch {
                state = .running(requests: nil)
                return fail(error, stopRequest: true)
            }
            state = .running(requests: deframer)
            return frames.isEmpty ? .none : .deliver(frames)
        case .awaitingHead, .waitingForRoom, .running(requests: nil), .done:
            return .none
        }
    }

    mutating func receiveEnd() -> Action {
        switch state {
        case .collecting(let deframer, let request):
            guard !deframer.hasPartialMessage else {
                return fail(RPCError(.internal, "the request ended inside a message"))
            }
            guard let request else {
                return fail(RPCError(.internal, "the client ended the stream without sending a request message"))
            }
            state = .waitingForRoom
            return .run(request)
        case .running(let deframer?):
            state = .running(requests: nil)
            guard !deframer.hasPartialMessage else {
                return fail(RPCError(.internal, "the request ended inside a message"))
            }
            return .endRequests
        case .awaitingHead, .waitingForRoom, .running(requests: nil), .done:
            return .none
        }
    }

    /// The handler starts (after `.run`, once the connection has room). False when the call
    /// ended meanwhile.
    mutating func start() -> Bool {
        guard case .waitingForRoom = state else { return false }
        state = .running(requests: nil)
        return true
    }

    /// The handler sends a message: whether the headers must go first, or nil when the call is
    /// over (the handler should stop).
    mutating func sendMessage() -> HeadersFirst? {
        guard case .running = state else { return nil }
        defer { headersSent = true }
        return HeadersFirst(needed: !headersSent)
    }

    /// The handler finished: whether the headers must go before the OK trailers, or nil when
    /// the call is already over.
    mutating func finish() -> HeadersFirst? {
        guard case .running = state else { return nil }
        state = .done
        defer { headersSent = true }
        return HeadersFirst(needed: !headersSent)
    }

    /// Whether the response headers must be sent before what comes next.
    struct HeadersFirst: Equatable {
        let needed: Bool
    }

    /// The call fails with `error` (from the head's checks, the request, or the handler).
    mutating func fail(_ error: RPCError, stopRequest: Bool = false) -> Action {
        let cancel: Bool
        switch state {
        case .done: return .none
        case .running: cancel = true
        case .awaitingHead, .collecting, .waitingForRoom: cancel = false
        }
        state = .done
        let trailersOnly = !headersSent
        headersSent = true
        return .sendStatus(error, trailersOnly: trailersOnly, stopRequest: stopRequest, cancelHandler: cancel)
    }

    mutating func deadlineExpired() -> Action {
        fail(RPCError(.deadlineExceeded, "deadline exceeded"), stopRequest: true)
    }

    /// The stream is gone (reset by the client, or closed after the status): whether a running
    /// handler must be cancelled.
    mutating func streamClosed() -> Bool {
        defer { state = .done }
        if case .running = state { return true }
        return false
    }
}
