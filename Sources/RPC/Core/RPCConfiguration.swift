/// Limits of the RPC layer.
public struct RPCConfiguration: Sendable {
    /// The largest request message accepted, after decompression (default 4 MiB).
    public var maxReceiveMessageSize: Int = 4 * 1024 * 1024

    public init() {}
}
