import HTTP
import Logging
import NIOCore

/// gRPC over the HTTP/2 layer: makes the call handler of each stream.
public final class GRPCServer: Sendable {
    let router: RPCRouter
    let configuration: RPCConfiguration
    let logger: Logger
    private let executors: [ObjectIdentifier: EventLoopTaskExecutor]

    public init(router: RPCRouter, configuration: RPCConfiguration, group: any EventLoopGroup, logger: Logger) {
        self.router = router
        self.configuration = configuration
        self.logger = logger
        var executors: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
        for loop in group.makeIterator() {
            executors[ObjectIdentifier(loop)] = EventLoopTaskExecutor(loop)
        }
        self.executors = executors
    }

    /// The factory the HTTP/2 server calls for every new stream.
    public var streamHandlerFactory: HTTP2StreamHandlerFactory {
        { [self] stream in
            let executor = executors[ObjectIdentifier(stream.eventLoop)] ?? EventLoopTaskExecutor(stream.eventLoop)
            return GRPCCallHandler(stream: stream, server: self, executor: executor)
        }
    }
}
