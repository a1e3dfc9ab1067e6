import HTTP
import Logging
import NIOCore
import Protobuf

/// One gRPC call on one HTTP/2 stream: checks the request head, collects the request message,
/// runs the handler as a task on the connection's event loop, and writes its answer — headers,
/// messages, then trailers with `grpc-status`, or Trailers-Only for an early error.
///
/// All of its state is touched on the event loop only.
final class GRPCCallHandler: HTTP2StreamHandler, @unchecked Sendable {
    private let stream: HTTP2Stream
    private let server: GRPCServer
    private var state = State.awaitingHead
    private var headersSent = false
    private var deadlineTimer: Scheduled<Void>?
    private var path = ""
    /// A streaming request's side: its deframer and where its messages go.
    private var requestStream: (call: Call, continuation: RequestStream.Continuation)?
    /// Metadata the gRPC interop convention asks to be echoed: `x-grpc-test-echo-initial` in the
    /// response headers, `x-grpc-test-echo-trailing-bin` in the trailers.
    private var echo = (initial: Metadata(), trailing: Metadata())

    private enum State {
        case awaitingHead
        case receiving(Call)
        /// The request is complete; the connection is over its response budget, so the call
        /// waits for the client to read what it was already sent.
        case waitingForRoom(deadline: ContinuousClock.Instant?)
        case running(Task<Void, Never>?, deadline: ContinuousClock.Instant?)
        /// The status has been sent, or the stream is gone.
        case done
    }

    /// What is known of the call while its request arrives.
    private struct Call {
        let route: RPCRouter.Route
        let metadata: Metadata
        let encoding: MessageEncoding
        let deadline: ContinuousClock.Instant?
        /// What the method's admission check returned.
        let admission: (any Sendable)?
        var deframer: MessageDeframer
        var request: (compressed: Bool, payload: ByteBuffer)?
    }

    init(stream: HTTP2Stream, server: GRPCServer) {
        self.stream = stream
        self.server = server
    }

    // MARK: HTTP2StreamHandler

    func receiveHead(_ head: HTTP2RequestHead) {
        guard case .awaitingHead = state else { return }
        path = head.path
        if head.method != "POST" {
            return respondHTTPError(405, [HeaderField("allow", "POST")], RPCError(.unimplemented, "HTTP method \(head.method) is not allowed: gRPC calls are POST"))
        }
        let contentType = head.header("content-type") ?? ""
        guard Self.isGRPCContentType(contentType) else {
            return respondHTTPError(415, [HeaderField("accept", "application/grpc")],
                                    RPCError(.internal, "content-type '\(contentType)' is not application/grpc"))
        }
        if let (size, limit) = head.headerListTooLarge {
            return refuse(RPCError(.resourceExhausted, "request headers of \(size) bytes exceed the limit of \(limit) bytes"))
        }
        let route: RPCRouter.Route
        switch server.router.route(head.path) {
        case .success(let found): route = found
        case .failure(let error): return refuse(error)
        }
        let encodingName = head.header("grpc-encoding") ?? "identity"
        guard let encoding = MessageEncoding(rawValue: encodingName) else {
            return refuse(RPCError(.unimplemented, "grpc-encoding '\(encodingName)' is not supported; supported: \(MessageEncoding.acceptHeader)"))
        }
        var deadline: ContinuousClock.Instant?
        if let timeout = head.header("grpc-timeout") {
            guard let duration = GRPCTimeout.parse(timeout) else {
                return refuse(RPCError(.invalidArgument, "malformed grpc-timeout '\(timeout)'"))
            }
            deadline = .now + duration
            let loopBound = NIOLoopBound(self, eventLoop: stream.eventLoop)
            deadlineTimer = stream.eventLoop.scheduleTask(in: .init(duration)) { loopBound.value.deadlineExpired() }
        }
        let metadata: Metadata
        switch Self.metadata(from: head.headers) {
        case .success(let parsed): metadata = parsed
        case .failure(let error): return refuse(error)
        }
        if let value = metadata["x-grpc-test-echo-initial"] { echo.initial.add("x-grpc-test-echo-initial", value) }
        if let value = metadata.binary("x-grpc-test-echo-trailing-bin") {
            echo.trailing.add("x-grpc-test-echo-trailing-bin", binary: value)
        }
        // Before any of the request is read: a caller without a token costs no buffering or decoding.
        var admission: (any Sendable)?
        if let admit = route.handler?.admission {
            do {
                admission = try admit(metadata)
            } catch {
                return refuse(error as? RPCError ?? RPCError(.unauthenticated, "\(error)"))
            }
        }
        let limit = min(server.configuration.maxReceiveMessageSize, route.handler?.maxRequestSize ?? .max)
        let call = Call(route: route, metadata: metadata, encoding: encoding, deadline: deadline, admission: admission,
                        deframer: MessageDeframer(maxMessageSize: limit))
        if case .bidirectionalStreaming(let body)? = route.handler?.kind {
            startStreaming(call, body)
        } else {
            state = .receiving(call)
        }
    }

    func receiveData(_ data: ByteBuffer) {
        if requestStream != nil { return receiveStreamed(data) }
        guard case .receiving(var call) = state else { return }
        call.deframer.append(data)
        do {
            while let message = try call.deframer.next() {
                guard call.request == nil else {
                    throw RPCError(.internal, "\(call.route.method.name) takes one request message; the client sent more")
                }
                call.request = message
            }
        } catch {
            return fail(error, stopRequest: true)
        }
        state = .receiving(call)
    }

    func receiveEnd() {
        if let (call, continuation) = requestStream {
            requestStream = nil
            guard !call.deframer.hasPartialMessage else {
                continuation.finish(throwing: RPCError(.internal, "the request ended inside a message"))
                return fail(RPCError(.internal, "the request ended inside a message"))
            }
            continuation.finish()
            return
        }
        guard case .receiving(let call) = state else { return }
        guard !call.deframer.hasPartialMessage else {
            return fail(RPCError(.internal, "the request ended inside a message"))
        }
        guard let request = call.request else {
            return fail(RPCError(.internal, "the client ended the stream without sending a request message"))
        }
        let message: ProtoMessage
        let size: Int
        do {
            (message, size) = try decode(request, of: call)
        } catch {
            return fail(error)
        }
        stream.requestBytesTaken()
        if stream.connectionHasRoom {
            start(call, message, encodedSize: size)
        } else {
            state = .waitingForRoom(deadline: call.deadline)
            stream.whenConnectionHasRoom { [self] in
                guard case .waitingForRoom = state else { return }
                start(call, message, encodedSize: size)
            }
        }
    }

    func streamClosed(error: HTTP2ErrorCode?) {
        deadlineTimer?.cancel()
        requestStream?.continuation.finish(throwing: CancellationError())
        requestStream = nil
        if case .running(let task, _) = state, let error {
            server.logger.debug("call cancelled by the client", metadata: ["path": "\(path)", "reason": "\(error)"])
            task?.cancel()
        }
        state = .done
    }

    // MARK: Running the handler

    private func decode(_ request: (compressed: Bool, payload: ByteBuffer), of call: Call) throws(RPCError) -> (ProtoMessage, Int) {
        var payload = request.payload
        if request.compressed {
            guard call.encoding != .identity else {
                throw RPCError(.internal, "the message is flagged compressed but grpc-encoding is identity")
            }
            payload = try call.encoding.decompress(payload, limit: server.configuration.maxReceiveMessageSize,
                                                   allocator: stream.allocator)
        }
        let input = call.route.method.input
        do {
            let message = try payload.withUnsafeReadableBytes { bytes throws(ProtoError) in
                try ProtoMessage(decoding: bytes, as: input)
            }
            return (message, payload.readableBytes)
        } catch where error.isInvalidValue {
            throw RPCError(.invalidArgument, "invalid request: \(error.message)")
        } catch {
            throw RPCError(.internal, "the request is not a valid \(input.fullName): \(error.message)")
        }
    }

    private func start(_ call: Call, _ message: ProtoMessage, encodedSize: Int) {
        let request = ServerRequest(message: message, encodedSize: encodedSize, metadata: call.metadata,
                                    context: ServerContext(method: call.route.method, deadline: call.deadline, admission: call.admission))
        guard let handler = call.route.handler else {
            return fail(RPCError.unimplemented("method \(call.route.method.name) is not implemented"))
        }
        // Running before the task starts, since a handler that never suspends completes inline.
        state = .running(nil, deadline: call.deadline)
        let task = Task.immediate(executorPreference: stream.executor) { [self] in
            switch handler.kind {
            case .unary(let body):
                do {
                    respond(try await body(request))
                } catch {
                    fail(error)
                }
            case .serverStreaming(let body):
                let writer = ResponseStreamWriter { [self] message in try await send(message) }
                do {
                    let trailers = try await body(request, writer)
                    finish(trailers: trailers)
                } catch {
                    fail(error)
                }
            case .bidirectionalStreaming:
                // Started from the head (startStreaming), never here.
                fail(RPCError(.internal, "a streaming request was collected as unary"))
            }
        }
        if case .running = state { state = .running(task, deadline: call.deadline) }
    }

    /// A bidirectional call runs from its head on; request messages reach it as they arrive.
    private func startStreaming(_ call: Call, _ body: @escaping @Sendable (ServerRequest, RequestStream, ResponseStreamWriter) async throws -> Metadata) {
        let (messages, continuation) = RequestStream.makeStream()
        requestStream = (call, continuation)
        let request = ServerRequest(message: ProtoMessage(call.route.method.input), encodedSize: 0, metadata: call.metadata,
                                    context: ServerContext(method: call.route.method, deadline: call.deadline, admission: call.admission))
        state = .running(nil, deadline: call.deadline)
        let task = Task.immediate(executorPreference: stream.executor) { [self] in
            let writer = ResponseStreamWriter { [self] message in try await send(message) }
            do {
                finish(trailers: try await body(request, messages, writer))
            } catch {
                fail(error, stopRequest: true)
            }
        }
        if case .running = state { state = .running(task, deadline: call.deadline) }
    }

    private func receiveStreamed(_ data: ByteBuffer) {
        guard var call = requestStream?.call, let continuation = requestStream?.continuation else { return }
        call.deframer.append(data)
        do {
            var taken = false
            while let message = try call.deframer.next() {
                continuation.yield(try decode(message, of: call).0)
                taken = true
            }
            if taken { stream.requestBytesTaken() }
            requestStream = (call, continuation)
        } catch {
            requestStream = nil
            continuation.finish(throwing: error)
            fail(error, stopRequest: true)
        }
    }

    private func deadlineExpired() {
        switch state {
        case .running(let task, _):
            task?.cancel()
            fail(RPCError(.deadlineExceeded, "deadline exceeded"), stopRequest: true)
        case .receiving, .awaitingHead, .waitingForRoom:
            fail(RPCError(.deadlineExceeded, "deadline exceeded"), stopRequest: true)
        case .done:
            break
        }
    }

    // MARK: Writing the answer

    private func respond(_ response: ServerResponse) {
        guard case .running = state else { return }
        sendHeadersIfNeeded(response.metadata)
        stream.sendData(MessageFramer.frame(response.message.encoded(), allocator: stream.allocator))
        finish(trailers: response.trailers)
    }

    private func send(_ message: ProtoMessage) async throws {
        try Task.checkCancellation()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            stream.eventLoop.execute { [self] in
                guard case .running = state else {
                    return continuation.resume(throwing: CancellationError())
                }
                sendHeadersIfNeeded(Metadata())
                stream.sendData(MessageFramer.frame(message.encoded(), allocator: stream.allocator))
                // The next message waits for room on this stream and in the connection's budget.
                stream.whenReadyForMore { continuation.resume() }
            }
        }
    }

    private func finish(trailers: Metadata) {
        guard case .running = state else { return }
        state = .done
        deadlineTimer?.cancel()
        sendHeadersIfNeeded(Metadata())
        var fields = [HeaderField("grpc-status", "0")]
        Self.append(trailers, to: &fields)
        Self.append(echo.trailing, to: &fields)
        stream.finish(trailers: fields)
    }

    private func sendHeadersIfNeeded(_ metadata: Metadata) {
        guard !headersSent else { return }
        headersSent = true
        var fields = Self.responseHeaders
        Self.append(metadata, to: &fields)
        Self.append(echo.initial, to: &fields)
        stream.sendHeaders(fields)
    }

    /// Answers with an error status: in trailers after a started response, else Trailers-Only.
    /// With `stopRequest`, the rest of the request body is refused (RST_STREAM NO_ERROR).
    private func fail(_ error: any Error, stopRequest: Bool = false) {
        if case .done = state { return }
        let status = statusFor(error)
        state = .done
        deadlineTimer?.cancel()
        let trailersOnly = !headersSent
        headersSent = true
        var fields = trailersOnly ? Self.responseHeaders : []
        if trailersOnly { Self.append(echo.initial, to: &fields) }
        fields.append(HeaderField("grpc-status", String(status.code.rawValue)))
        if !status.message.isEmpty {
            fields.append(HeaderField("grpc-message", PercentEncoding.encode(status.message)))
        }
        Self.append(status.metadata, to: &fields)
        Self.append(echo.trailing, to: &fields)
        if stopRequest { stream.resetAfterResponse() }
        if trailersOnly {
            stream.sendHeaders(fields, endStream: true)
        } else {
            stream.finish(trailers: fields)
        }
    }

    /// An answer before the request body has been read: the rest of it is not wanted.
    private func refuse(_ error: RPCError) {
        fail(error, stopRequest: true)
    }

    private func respondHTTPError(_ status: Int, _ extra: [HeaderField], _ error: RPCError) {
        state = .done
        headersSent = true
        var fields = [HeaderField(":status", String(status))] + extra
        fields.append(HeaderField("grpc-status", String(error.code.rawValue)))
        fields.append(HeaderField("grpc-message", PercentEncoding.encode(error.message)))
        stream.resetAfterResponse()
        stream.sendHeaders(fields, endStream: true)
    }

    private func statusFor(_ error: any Error) -> RPCError {
        if let error = error as? RPCError { return error }
        if error is CancellationError {
            if case .running(_, let deadline?) = state, deadline <= .now {
                return RPCError(.deadlineExceeded, "deadline exceeded")
            }
            return RPCError(.cancelled, "the call was cancelled")
        }
        server.logger.error("handler failed", metadata: ["error": "\(error)"])
        return RPCError(.internal, "internal error")
    }
}
