/// Limits and options of the RPC layer.
public struct RPCConfiguration: Sendable {
    /// The largest request message accepted, after decompression (default 4 MiB).
    public var maxReceiveMessageSize: Int = 4 * 1024 * 1024
    /// Echo `x-grpc-test-echo-initial` and `x-grpc-test-echo-trailing-bin` as gRPC's interop
    /// tests expect of a test server. Off in production.
    public var echoesInteropMetadata = false

    public init() {}
}
