import Logging
import NIOCore
import NIOPosix
import Synchronization

/// An h2c (prior knowledge) server: one nghttp2 session per TCP connection, each confined to
/// the event loop of its connection.
public final class HTTP2Server: Sendable {
    private let configuration: HTTP2Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let makeHandler: HTTP2StreamHandlerFactory
    private let state = Mutex(State())

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var isShuttingDown = false
    }

    public init(configuration: HTTP2Configuration, group: any EventLoopGroup, logger: Logger,
                makeHandler: @escaping HTTP2StreamHandlerFactory) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.makeHandler = makeHandler
    }

    /// Starts listening; returns the bound address (port 0 picks a free port).
    public func bind(host: String, port: Int) async throws -> SocketAddress {
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.accept(channel)
                }
            }
            .bind(host: host, port: port)
            .get()
        state.withLock { $0.listener = listener }
        return listener.localAddress!
    }

    private func accept(_ channel: any Channel) throws {
        let admitted = state.withLock { state in
            guard !state.isShuttingDown else { return false }
            state.connections[ObjectIdentifier(channel)] = channel
            return true
        }
        guard admitted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
        }
        var logger = logger
        logger[metadataKey: "peer"] = "\(channel.remoteAddress.map { "\($0)" } ?? "?")"
        let session = try HTTP2Session(configuration: configuration, eventLoop: channel.eventLoop, logger: logger, makeHandler: makeHandler)
        try channel.pipeline.syncOperations.addHandler(HTTP2ConnectionHandler(session: session))
    }

    /// Stops accepting, sends GOAWAY on every connection, lets in-flight calls finish for up to
    /// `configuration.shutdownTimeout`, then closes whatever is left.
    public func shutdownGracefully() async {
        let (listener, connections) = state.withLock { state in
            state.isShuttingDown = true
            return (state.listener, Array(state.connections.values))
        }
        try? await listener?.close()
        for channel in connections {
            channel.pipeline.fireUserInboundEventTriggered(HTTP2GracefulShutdownEvent())
        }
        let deadline = Task { [self] in
            try await Task.sleep(for: configuration.shutdownTimeout)
            let left = state.withLock { Array($0.connections.values) }
            if !left.isEmpty {
                logger.warning("closing connections still busy at the shutdown deadline", metadata: ["count": "\(left.count)"])
            }
            for channel in left { channel.close(promise: nil) }
        }
        for channel in connections {
            try? await channel.closeFuture.get()
        }
        deadline.cancel()
    }
}
