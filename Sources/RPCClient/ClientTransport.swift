import GRPCWire
import NIOCore
import Protobuf

/// The method a call is for, and what a token for it must grant: the room and participant of a
/// room-scoped request (the generated clients fill them in).
public struct MethodTarget: Sendable, Equatable {
    /// `/package.Service/Method`.
    public let path: String
    public let service: String
    public let method: String
    /// The request's `room`, for requests that act on one room.
    public var room: String?
    /// The request's `identity`, for requests that act on one participant.
    public var identity: String?

    public init(service: String, method: String, room: String? = nil, identity: String? = nil) {
        self.service = service
        self.method = method
        path = "/\(service)/\(method)"
        self.room = room
        self.identity = identity
    }
}

/// A unary call's answer: the response message's bytes and the metadata that came with it.
public struct ClientResponse: Sendable {
    public let message: [UInt8]
    public let metadata: Metadata
    public let trailers: Metadata

    public init(message: [UInt8], metadata: Metadata = Metadata(), trailers: Metadata = Metadata()) {
        self.message = message
        self.metadata = metadata
        self.trailers = trailers
    }
}

/// How calls reach the server: gRPC over HTTP/2 (`GRPCClient`) or Twirp (`TwirpClient`). A
/// failed call throws `RPCError` with the server's status, or the one that explains what went
/// wrong on the way (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED).
public protocol ClientTransport: Sendable {
    func unary(_ method: MethodTarget, request: [UInt8], options: CallOptions) async throws -> ClientResponse
    func serverStreaming(_ method: MethodTarget, request: [UInt8], options: CallOptions) async throws -> ResponseStream
}

/// The messages of a server-streaming response, as they arrive; iterating throws the call's
/// error status if it ends with one. Ending the iteration early cancels the call.
public struct ResponseStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let events: AsyncThrowingStream<CallEvent, any Error>
    /// Told of each message the reader takes (the server may send more).
    let taken: @Sendable () -> Void

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<CallEvent, any Error>.AsyncIterator
        let taken: @Sendable () -> Void

        public mutating func next() async throws -> [UInt8]? {
            while let event = try await base.next() {
                if case .message(let bytes) = event {
                    taken()
                    return Array(bytes.readableBytesView)
                }
            }
            if Task.isCancelled { throw RPCError(.cancelled, "the call was cancelled") }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: events.makeAsyncIterator(), taken: taken)
    }
}

// MARK: Typed calls

extension ClientTransport {
    /// A unary call of generated message types.
    public func unary<Request: WireMessage, Response: WireMessage>(
        _ method: MethodTarget, _ request: Request, as: Response.Type = Response.self, options: CallOptions = CallOptions()
    ) async throws -> Response {
        let response = try await unary(method, request: request.wireBytes(), options: options)
        return try Self.decode(response.message)
    }

    /// A server-streaming call of generated message types.
    public func serverStreaming<Request: WireMessage, Response: WireMessage>(
        _ method: MethodTarget, _ request: Request, as: Response.Type = Response.self, options: CallOptions = CallOptions()
    ) async throws -> TypedResponseStream<Response> {
        TypedResponseStream(bytes: try await serverStreaming(method, request: request.wireBytes(), options: options))
    }

    static func decode<Message: WireMessage>(_ bytes: [UInt8]) throws -> Message {
        do {
            return try Message(wireBytes: bytes)
        } catch {
            throw RPCError(.internal, "the response is not a valid \(Message.descriptor.fullName): \(error.message)")
        }
    }
}

/// The messages of a server-streaming response, each as its generated type.
public struct TypedResponseStream<Message: WireMessage>: AsyncSequence, Sendable {
    public typealias Element = Message
    let bytes: ResponseStream

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: ResponseStream.AsyncIterator

        public mutating func next() async throws -> Message? {
            guard let bytes = try await base.next() else { return nil }
            do {
                return try Message(wireBytes: bytes)
            } catch {
                throw RPCError(.internal, "a response is not a valid \(Message.descriptor.fullName): \(error.message)")
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: bytes.makeAsyncIterator())
    }
}
