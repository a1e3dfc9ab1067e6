import HTTP
import Logging
import NIOCore

/// gRPC over the HTTP/2 layer: makes the call handler of each stream.
public final class GRPCServer: Sendable {
    let router: RPCRouter
    let configuration: RPCConfiguration
    let logger: Logger
    let executor: CallExecutor

    public init(router: RPCRouter, configuration: RPCConfiguration, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
        executor = CallExecutor(configuration: configuration, logger: logger, transport: "grpc")
    }

    /// The factory the HTTP/2 server calls for every new stream.
    public var streamHandlerFactory: HTTP2StreamHandlerFactory {
        { [self] stream in
            GRPCCallHandler(stream: stream, server: self)
        }
    }
}
