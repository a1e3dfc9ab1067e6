import Protobuf

/// Handlers written against the generated Swift types (the `ServiceProtocol`s of APIServices):
/// the request arrives as its type and the response is returned as its type.
///
/// For now each call's message is taken from the router's `ProtoMessage` (through its bytes);
/// one call path that decodes straight into the generated type replaces that.
extension RPCHandler {
    public static func unary<Request: WireMessage, Response: WireMessage>(
        _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> RPCHandler {
        .unary { request in
            ServerResponse(try await body(try typed(request.message), request.context).dynamic)
        }
    }

    public static func serverStreaming<Request: WireMessage, Response: WireMessage>(
        _ body: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> RPCHandler {
        .serverStreaming { request, writer in
            try await body(try typed(request.message), ResponseWriter(writer), request.context)
            return Metadata()
        }
    }

    public static func bidirectionalStreaming<Request: WireMessage, Response: WireMessage>(
        _ body: @escaping @Sendable (RequestMessages<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> RPCHandler {
        .bidirectionalStreaming { request, requests, writer in
            try await body(RequestMessages(requests), ResponseWriter(writer), request.context)
            return Metadata()
        }
    }

    private static func typed<Message: WireMessage>(_ message: ProtoMessage) throws -> Message {
        do {
            return try Message(message)
        } catch {
            throw RPCError(.invalidArgument, error.message)
        }
    }
}

/// Sends the messages of a server-streaming response, each as its generated type.
public struct ResponseWriter<Message: WireMessage>: Sendable {
    private let writer: ResponseStreamWriter

    init(_ writer: ResponseStreamWriter) {
        self.writer = writer
    }

    /// Sends one message; waits while the client is not reading; throws once the call is over.
    public func write(_ message: Message) async throws {
        try await writer.write(message.dynamic)
    }
}

/// The request messages of a streaming call, in order, each as its generated type.
public struct RequestMessages<Message: WireMessage>: AsyncSequence, Sendable {
    public typealias Element = Message
    private let stream: RequestStream

    init(_ stream: RequestStream) {
        self.stream = stream
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestStream.AsyncIterator

        public mutating func next() async throws -> Message? {
            guard let message = try await base.next() else { return nil }
            return try Message(message)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator())
    }
}
