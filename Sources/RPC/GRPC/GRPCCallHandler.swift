import HTTP
import Logging
import NIOCore
import Protobuf

/// One gRPC call on one HTTP/2 stream: parses the request head, frames and deframes messages,
/// and writes the answer — headers, messages, then trailers with `grpc-status`, or Trailers-Only
/// for an early error. What the call may do next is `GRPCCallStateMachine`'s; running it is
/// the server's `CallExecutor`'s, as for Twirp.
///
/// All of its state is touched on the event loop only.
final class GRPCCallHandler: HTTP2StreamHandler, @unchecked Sendable {
    private let stream: HTTP2Stream
    private let server: GRPCServer
    private var machine = GRPCCallStateMachine()
    private var deadlineTimer: Scheduled<Void>?
    private var path = ""
    /// Known once the head is accepted.
    private var call: Call?
    private var task: Task<Void, Never>?
    /// Where a streaming call's request messages go.
    private var requests: RPCHandler.Payloads.Continuation?
    /// Metadata the gRPC interop tests ask to be echoed (only with `RPCConfiguration.echoesInteropMetadata`):
    /// `x-grpc-test-echo-initial` in the response headers, `x-grpc-test-echo-trailing-bin` in the trailers.
    private var echo = (initial: Metadata(), trailing: Metadata())

    /// What is known of the call once its head is accepted.
    private struct Call {
        let handler: RPCHandler
        let encoding: MessageEncoding
        let context: ServerContext
    }

    init(stream: HTTP2Stream, server: GRPCServer) {
        self.stream = stream
        self.server = server
    }

    // MARK: HTTP2StreamHandler

    func receiveHead(_ head: HTTP2RequestHead) {
        guard !machine.isDone, call == nil else { return }
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
        guard let handler = route.handler else { return refuse(.unimplemented("method \(route.method.name) is not implemented")) }
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
        if server.configuration.echoesInteropMetadata {
            if let value = metadata["x-grpc-test-echo-initial"] { echo.initial.add("x-grpc-test-echo-initial", value) }
            if let value = metadata.binary("x-grpc-test-echo-trailing-bin") {
                echo.trailing.add("x-grpc-test-echo-trailing-bin", binary: value)
            }
        }
        // Before any of the request is read: a caller without a token costs no buffering or decoding.
        let admission: (any Sendable)?
        switch server.executor.admit(handler, metadata: metadata, method: route.method) {
        case .success(let value): admission = value
        case .failure(let error): return refuse(error)
        }
        let context = ServerContext(method: route.method, metadata: metadata, deadline: deadline, admission: admission)
        call = Call(handler: handler, encoding: encoding, context: context)
        let streaming = if case .bidirectionalStreaming = handler.kind { true } else { false }
        machine.accept(method: route.method.name, streamingRequests: streaming, limit: server.executor.requestLimit(of: handler))
        if streaming { startStreaming(handler, context) }
    }

    func receiveData(_ data: ByteBuffer) {
        perform(machine.receiveData(data))
    }

    func receiveEnd() {
        perform(machine.receiveEnd())
    }

    func streamClosed(error: HTTP2ErrorCode?) {
        deadlineTimer?.cancel()
        requests?.finish(throwing: CancellationError())
        requests = nil
        if machine.streamClosed(), let error {
            server.logger.debug("call cancelled by the client", metadata: ["path": "\(path)", "reason": "\(error)"])
            task?.cancel()
        }
    }

    // MARK: Doing what the state machine says

    private func perform(_ action: GRPCCallStateMachine.Action) {
        switch action {
        case .none:
            break
        case .run(let frame):
            guard let call else { return }
            let request: ByteBuffer
            do {
                request = try payload(of: frame, call)
            } catch {
                return perform(machine.fail(error))
            }
            stream.requestBytesTaken()
            if stream.connectionHasRoom {
                run(call, request)
            } else {
                stream.whenConnectionHasRoom { [self] in run(call, request) }
            }
        case .deliver(let frames):
            guard let call, let requests else { return }
            do {
                for frame in frames { requests.yield(try payload(of: frame, call)) }
            } catch {
                return perform(machine.fail(error, stopRequest: true))
            }
            stream.requestBytesTaken()
        case .endRequests:
            requests?.finish()
            requests = nil
        case .sendStatus(let status, let trailersOnly, let stopRequest, let cancelHandler):
            deadlineTimer?.cancel()
            if cancelHandler {
                requests?.finish(throwing: CancellationError())
                requests = nil
                task?.cancel()
            }
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
    }

    /// A request message's bytes, decompressed.
    private func payload(of frame: GRPCCallStateMachine.Frame, _ call: Call) throws(RPCError) -> ByteBuffer {
        guard frame.compressed else { return frame.payload }
        guard call.encoding != .identity else {
            throw RPCError(.internal, "the message is flagged compressed but grpc-encoding is identity")
        }
        return try call.encoding.decompress(frame.payload, limit: server.executor.requestLimit(of: call.handler),
                                            allocator: stream.allocator)
    }

    // MARK: Running the handler

    private func run(_ call: Call, _ request: ByteBuffer) {
        guard machine.start() else { return }
        let context = ServerContext(method: call.context.method, metadata: call.context.metadata, deadline: call.context.deadline,
                                    admission: call.context.admission, requestSize: request.readableBytes)
        let executor = server.executor
        task = Task.immediate(executorPreference: stream.executor) { [self] in
            if case .serverStreaming = call.handler.kind {
                let result = await executor.serverStreaming(call.handler, request: request, context: context) { [self] bytes in
                    try await send(bytes)
                }
                complete(result)
            } else {
                switch await executor.unary(call.handler, request: request, format: .protobuf, context: context) {
                case .success(let answer):
                    guard let headers = machine.sendMessage() else { return }
                    if headers.needed { sendHeaders(answer.metadata) }
                    stream.sendData(MessageFramer.frame(answer.bytes, allocator: stream.allocator))
                    complete(.success(answer.trailers))
                case .failure(let error):
                    complete(.failure(error))
                }
            }
        }
    }

    /// A bidirectional call runs from its head on; request messages reach it as they arrive.
    private func startStreaming(_ handler: RPCHandler, _ context: ServerContext) {
        let (payloads, continuation) = RPCHandler.Payloads.makeStream()
        requests = continuation
        let executor = server.executor
        task = Task.immediate(executorPreference: stream.executor) { [self] in
            let result = await executor.bidirectionalStreaming(handler, requests: payloads, context: context) { [self] bytes in
                try await send(bytes)
            }
            if case .failure = result {
                requests?.finish(throwing: CancellationError())
                requests = nil
            }
            complete(result, stopRequest: true)
        }
    }

    private func deadlineExpired() {
        perform(machine.deadlineExpired())
    }

    // MARK: Writing the answer

    private func send(_ bytes: [UInt8]) async throws {
        try Task.checkCancellation()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            stream.eventLoop.execute { [self] in
                guard let headers = machine.sendMessage() else {
                    return continuation.resume(throwing: CancellationError())
                }
                if headers.needed { sendHeaders(Metadata()) }
                stream.sendData(MessageFramer.frame(bytes, allocator: stream.allocator))
                // The next message waits for room on this stream and in the connection's budget.
                stream.whenReadyForMore { continuation.resume() }
            }
        }
    }

    /// The handler's end: OK with its trailers, or its error's status.
    private func complete(_ result: Result<Metadata, RPCError>, stopRequest: Bool = false) {
        switch result {
        case .success(let trailers):
            guard let headers = machine.finish() else { return }
            deadlineTimer?.cancel()
            if headers.needed { sendHeaders(Metadata()) }
            var fields = [HeaderField("grpc-status", "0")]
            Self.append(trailers, to: &fields)
            Self.append(echo.trailing, to: &fields)
            stream.finish(trailers: fields)
        case .failure(let error):
            perform(machine.fail(error, stopRequest: stopRequest))
        }
    }

    private func sendHeaders(_ metadata: Metadata) {
        var fields = Self.responseHeaders
        Self.append(metadata, to: &fields)
        Self.append(echo.initial, to: &fields)
        stream.sendHeaders(fields)
    }

    /// An answer before the request body has been read: the rest of it is not wanted.
    private func refuse(_ error: RPCError) {
        perform(machine.fail(error, stopRequest: true))
    }

    private func respondHTTPError(_ status: Int, _ extra: [HeaderField], _ error: RPCError) {
        _ = machine.fail(error)
        var fields = [HeaderField(":status", String(status))] + extra
        fields.append(HeaderField("grpc-status", String(error.code.rawValue)))
        fields.append(HeaderField("grpc-message", PercentEncoding.encode(error.message)))
        stream.resetAfterResponse()
        stream.sendHeaders(fields, endStream: true)
    }
}
