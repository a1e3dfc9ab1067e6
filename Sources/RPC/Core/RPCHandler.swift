import NIOCore
import Protobuf

/// Facts about one call, given to its handler with the request message.
public struct ServerContext: Sendable {
    /// The method being called.
    public let method: ServiceDescriptor.Method
    /// The caller's metadata (the request's headers that are not the transport's).
    public let metadata: Metadata
    /// When the caller stops waiting (from `grpc-timeout`), if it said.
    public let deadline: ContinuousClock.Instant?
    /// What the method's admission check returned for the call's metadata (a verified token),
    /// when it has one (see `RPCService.admitting`).
    public let admission: (any Sendable)?
    /// Bytes of the request message on the wire, after decompression (0 for a streaming request).
    public let requestSize: Int

    init(method: ServiceDescriptor.Method, metadata: Metadata = Metadata(), deadline: ContinuousClock.Instant? = nil,
         admission: (any Sendable)? = nil, requestSize: Int = 0) {
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.admission = admission
        self.requestSize = requestSize
    }
}

/// A unary handler's answer when it sends response headers or trailers beside the message.
public struct ServerResponse<Message: Sendable>: Sendable {
    public var message: Message
    public var metadata: Metadata
    public var trailers: Metadata

    public init(_ message: Message, metadata: Metadata = Metadata(), trailers: Metadata = Metadata()) {
        self.message = message
        self.metadata = metadata
        self.trailers = trailers
    }
}

/// Looks at a call's metadata before any of its request is read: throws the error that answers
/// the call (UNAUTHENTICATED), or returns what the handler should know (a verified token).
public typealias RPCAdmission = @Sendable (Metadata) throws -> (any Sendable)?

/// Looks at each decoded request message before the handler runs (access control, checks that
/// belong to no one handler): an error it throws answers the call.
public typealias RequestCheck = @Sendable (_ request: any Sendable, _ context: ServerContext) throws -> Void

/// The implementation of one RPC method, its message types erased so that one router holds every
/// method: it takes the request's bytes and gives back the response's. Made from a typed body by
/// `.unary`, `.serverStreaming` and `.bidirectionalStreaming`; run by `CallExecutor`.
public struct RPCHandler: Sendable {
    /// A unary call's answer, encoded.
    struct Answer: Sendable {
        let bytes: [UInt8]
        let metadata: Metadata
        let trailers: Metadata
    }

    /// Sends one encoded response message; waits while the client is not reading.
    typealias Send = @Sendable ([UInt8]) async throws -> Void
    /// The encoded request messages of a streaming call, as they arrive.
    typealias Payloads = AsyncThrowingStream<ByteBuffer, any Error>

    enum Kind: Sendable {
        case unary(@Sendable (ByteBuffer, WireFormat, ServerContext, RequestCheck?) async throws -> Answer)
        /// Returns the trailing metadata.
        case serverStreaming(@Sendable (ByteBuffer, ServerContext, RequestCheck?, @escaping Send) async throws -> Metadata)
        /// Runs from the request head on. Returns the trailing metadata. gRPC only (Twirp has no streams).
        case bidirectionalStreaming(@Sendable (Payloads, ServerContext, RequestCheck?, @escaping Send) async throws -> Metadata)
    }

    let kind: Kind
    /// The generated types the body takes and returns (nil for dynamic messages), checked
    /// against the method's when the service is made.
    let types: (request: MessageDescriptor, response: MessageDescriptor)?
    /// Run on the request's head, before its body is read.
    var admission: RPCAdmission?
    /// The largest request message this method takes, when smaller than the server's limit.
    var maxRequestSize: Int?
    /// A smaller limit the service sets for its own reasons (what a request may cost to keep),
    /// checked on the request's bytes before they are decoded, answered with the service's error.
    var decodeLimit: (bytes: Int, refusal: @Sendable (_ size: Int) -> RPCError)?
    /// Run on every decoded request message before the body.
    var check: RequestCheck?

    /// A unary method of generated types.
    public static func unary<Request: WireMessage, Response: WireMessage>(
        _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> RPCHandler {
        unary { (request: Request, context: ServerContext) async throws -> ServerResponse<Response> in
            ServerResponse(try await body(request, context))
        }
    }

    /// A unary method of generated types whose answer carries headers or trailers.
    public static func unary<Request: WireMessage, Response: WireMessage>(
        _ body: @escaping @Sendable (Request, ServerContext) async throws -> ServerResponse<Response>
    ) -> RPCHandler {
        unary(.generated, .generated, body, types: (Request.descriptor, Response.descriptor))
    }

    /// A server-streaming method of generated types.
    public static func serverStreaming<Request: WireMessage, Response: WireMessage>(
        _ body: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> RPCHandler {
        let (requests, responses) = (MessageCodec<Request>.generated, MessageCodec<Response>.generated)
        return RPCHandler(kind: .serverStreaming { bytes, context, check, send in
            let request = try decode(bytes, .protobuf, requests, context, check)
            try await body(request, ResponseWriter(send: send, encode: { responses.encode($0, .protobuf) }), context)
            return Metadata()
        }, types: (Request.descriptor, Response.descriptor))
    }

    /// A bidirectional-streaming method of generated types.
    public static func bidirectionalStreaming<Request: WireMessage, Response: WireMessage>(
        _ body: @escaping @Sendable (RequestMessages<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> RPCHandler {
        bidirectionalStreaming(.generated, .generated, body, types: (Request.descriptor, Response.descriptor))
    }

    /// A bidirectional-streaming method of dynamic messages, for services that are generic over
    /// descriptors by nature (reflection serves two versions of one API with one body).
    public static func bidirectionalStreaming(
        dynamic body: @escaping @Sendable (RequestMessages<ProtoMessage>, ResponseWriter<ProtoMessage>, ServerContext) async throws -> Void
    ) -> RPCHandler {
        bidirectionalStreaming(.dynamic, .dynamic, body, types: nil)
    }

    private static func unary<Request, Response>(
        _ requests: MessageCodec<Request>, _ responses: MessageCodec<Response>,
        _ body: @escaping @Sendable (Request, ServerContext) async throws -> ServerResponse<Response>,
        types: (MessageDescriptor, MessageDescriptor)?
    ) -> RPCHandler {
        RPCHandler(kind: .unary { bytes, format, context, check in
            let request = try decode(bytes, format, requests, context, check)
            let response = try await body(request, context)
            return Answer(bytes: responses.encode(response.message, format), metadata: response.metadata, trailers: response.trailers)
        }, types: types)
    }

    private static func bidirectionalStreaming<Request, Response>(
        _ requests: MessageCodec<Request>, _ responses: MessageCodec<Response>,
        _ body: @escaping @Sendable (RequestMessages<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void,
        types: (MessageDescriptor, MessageDescriptor)?
    ) -> RPCHandler {
        RPCHandler(kind: .bidirectionalStreaming { payloads, context, check, send in
            let messages = RequestMessages(payloads: payloads) { bytes in try decode(bytes, .protobuf, requests, context, check) }
            try await body(messages, ResponseWriter(send: send, encode: { responses.encode($0, .protobuf) }), context)
            return Metadata()
        }, types: types)
    }

    /// The request message from its bytes, then the service's check on it.
    private static func decode<Message>(_ bytes: ByteBuffer, _ format: WireFormat, _ codec: MessageCodec<Message>,
                                        _ context: ServerContext, _ check: RequestCheck?) throws -> Message {
        let message: Message
        do {
            message = try codec.decode(bytes, format, context.method.input)
        } catch {
            throw RequestDecodingFailure(underlying: error, format: format, type: context.method.input)
        }
        try check?(message, context)
        return message
    }
}

/// Sends the messages of a server-streaming response.
public struct ResponseWriter<Message: Sendable>: Sendable {
    let send: RPCHandler.Send
    let encode: @Sendable (Message) -> [UInt8]

    /// Sends one message; waits while the client is not reading; throws once the call is over.
    public func write(_ message: Message) async throws {
        try await send(encode(message))
    }
}

/// The request messages of a streaming call, in order; ends when the client ends its side,
/// throws if the call fails first or a message cannot be decoded.
public struct RequestMessages<Message: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Message
    let payloads: RPCHandler.Payloads
    let decode: @Sendable (ByteBuffer) throws -> Message

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: RPCHandler.Payloads.AsyncIterator
        let decode: @Sendable (ByteBuffer) throws -> Message

        public mutating func next() async throws -> Message? {
            guard let bytes = try await base.next() else { return nil }
            return try decode(bytes)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: payloads.makeAsyncIterator(), decode: decode)
    }
}
