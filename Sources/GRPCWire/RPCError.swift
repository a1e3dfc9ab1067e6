/// The one error type the RPC layer answers with: a status code, a message for the caller, and
/// trailing metadata. Handlers throw it, or an error that converts to it (`RPCErrorConvertible`);
/// any other error reaching the RPC layer is answered as INTERNAL.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var metadata: Metadata
    /// The request message could not be decoded at all (not one bad value in it): gRPC answers
    /// INTERNAL, Twirp its own `malformed`.
    package var isMalformedRequest = false

    public init(_ code: StatusCode, _ message: String, metadata: Metadata = Metadata()) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }

    public var description: String { "\(code): \(message)" }

    public static func invalidArgument(_ message: String) -> RPCError { RPCError(.invalidArgument, message) }
    public static func notFound(_ message: String) -> RPCError { RPCError(.notFound, message) }
    public static func unimplemented(_ message: String) -> RPCError { RPCError(.unimplemented, message) }
}

/// An error of the domain that knows the status it answers a call with (a missing egress is
/// NOT_FOUND): the RPC layer asks it, so handlers throw their own errors unchanged.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

extension RPCError: RPCErrorConvertible {
    public var rpcError: RPCError { self }
}
