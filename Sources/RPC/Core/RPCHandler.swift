import Protobuf

/// What a handler receives: the decoded request message, the caller's metadata and the call's context.
public struct ServerRequest: Sendable {
    public let message: ProtoMessage
    /// Bytes of the message on the wire (after decompression).
    public let encodedSize: Int
    public let metadata: Metadata
    public let context: ServerContext
}

/// Facts about one call.
public struct ServerContext: Sendable {
    /// The method being called.
    public let method: ServiceDescriptor.Method
    /// When the caller stops waiting (from `grpc-timeout`), if it said.
    public let deadline: ContinuousClock.Instant?
    /// What the method's admission check returned for the call's metadata (a verified token),
    /// when it has one (see `RPCService.admitting`).
    public let admission: (any Sendable)?

    init(method: ServiceDescriptor.Method, deadline: ContinuousClock.Instant?, admission: (any Sendable)? = nil) {
        self.method = method
        self.deadline = deadline
        self.admission = admission
    }
}

/// Looks at a call's metadata before any of its request is read: throws the error that answers
/// the call (UNAUTHENTICATED), or returns what the handler should know (a verified token).
public typealias RPCAdmission = @Sendable (Metadata) throws -> (any Sendable)?

/// A unary handler's answer: the message, plus response headers and trailers if it wants them.
public struct ServerResponse: Sendable {
    public var message: ProtoMessage
    public var metadata: Metadata
    public var trailers: Metadata

    public init(_ message: ProtoMessage, metadata: Metadata = Metadata(), trailers: Metadata = Metadata()) {
        self.message = message
        self.metadata = metadata
        self.trailers = trailers
    }
}

/// Sends the messages of a server-streaming response.
public struct ResponseStreamWriter: Sendable {
    let send: @Sendable (ProtoMessage) async throws -> Void

    /// Sends one message; waits while the client is not reading; throws once the call is over.
    public func write(_ message: ProtoMessage) async throws {
        try await send(message)
    }
}

/// The request messages of a client- or bidirectional-streaming call, in order; ends when the
/// client ends its side, throws if the call fails first.
public typealias RequestStream = AsyncThrowingStream<ProtoMessage, any Error>

/// The implementation of one RPC method. Handlers report failures by throwing `RPCError`.
public struct RPCHandler: Sendable {
    enum Kind: Sendable {
        case unary(@Sendable (ServerRequest) async throws -> ServerResponse)
        /// Returns the trailing metadata.
        case serverStreaming(@Sendable (ServerRequest, ResponseStreamWriter) async throws -> Metadata)
        /// Runs from the request head on; `ServerRequest.message` is an empty request message.
        /// Returns the trailing metadata. gRPC only (Twirp has no streams).
        case bidirectionalStreaming(@Sendable (ServerRequest, RequestStream, ResponseStreamWriter) async throws -> Metadata)
    }

    let kind: Kind
    /// Run on the request's head, before its body is read.
    var admission: RPCAdmission?
    /// The largest request message this method takes, when smaller than the server's limit.
    var maxRequestSize: Int?

    public static func unary(_ body: @escaping @Sendable (ServerRequest) async throws -> ServerResponse) -> RPCHandler {
        RPCHandler(kind: .unary(body))
    }

    public static func serverStreaming(
        _ body: @escaping @Sendable (ServerRequest, ResponseStreamWriter) async throws -> Metadata
    ) -> RPCHandler {
        RPCHandler(kind: .serverStreaming(body))
    }

    public static func bidirectionalStreaming(
        _ body: @escaping @Sendable (ServerRequest, RequestStream, ResponseStreamWriter) async throws -> Metadata
    ) -> RPCHandler {
        RPCHandler(kind: .bidirectionalStreaming(body))
    }
}
