import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The API port: HTTP/2 (one nghttp2 session per connection) and HTTP/1.1 (SwiftNIO's codec)
/// on one listener, in plaintext or TLS. Each connection's protocol is chosen by ALPN or by its
/// first bytes (`ProtocolSelector`); each is confined to its event loop.
public final class HTTPServer: Sendable {
    private let configuration: HTTP2Configuration
    private let http1: HTTP1Configuration
    private let tls: NIOSSLContext?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let application: HTTPApplication
    private let streamFactory: HTTP2StreamHandlerFactory
    /// Where responders run: on the loop of their connection.
    private let executors: EventLoopTaskExecutors
    private let state = Mutex(State())

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var isShuttingDown = false
    }

    /// Throws when the TLS files cannot be used.
    public init(configuration: HTTP2Configuration, http1: HTTP1Configuration = HTTP1Configuration(), tls: TLSSettings? = nil,
                group: any EventLoopGroup, logger: Logger, application: HTTPApplication) throws {
        self.configuration = configuration
        self.http1 = http1
        self.tls = try tls?.makeContext()
        self.group = group
        self.logger = logger
        self.application = application
        executors = EventLoopTaskExecutors(group: group)
        streamFactory = Self.streamFactory(for: application, maxBodySize: http1.maxBodySize)
    }

    /// A server of gRPC only, in plaintext (which cannot fail to set up).
    public convenience init(configuration: HTTP2Configuration, group: any EventLoopGroup, logger: Logger,
                            makeHandler: @escaping HTTP2StreamHandlerFactory) {
        try! self.init(configuration: configuration, group: group, logger: logger, application: HTTPApplication(streams: makeHandler))
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
        try channel.pipeline.syncOperations.addHandler(SendProgressGuard(timeout: configuration.sendTimeout, logger: logger))
        if let tls {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
        }
        let selector = ProtocolSelector(waitsForALPN: tls != nil, timeout: configuration.handshakeTimeout) { [self] choice, context in
            switch choice {
            case .http2: try startHTTP2(context.channel, logger: logger)
            case .http1: try startHTTP1(context.channel, logger: logger)
            }
        }
        try channel.pipeline.syncOperations.addHandler(selector)
    }

    private func startHTTP2(_ channel: any Channel, logger: Logger) throws {
        try Self.configureHTTP2(channel, configuration: configuration, executor: executors.executor(for: channel.eventLoop),
                                logger: logger, makeHandler: streamFactory)
    }

    /// Adds the HTTP/2 handler (one nghttp2 session) to a connection whose protocol has been chosen.
    static func configureHTTP2(_ channel: any Channel, configuration: HTTP2Configuration, executor: EventLoopTaskExecutor,
                               logger: Logger, makeHandler: @escaping HTTP2StreamHandlerFactory) throws {
        let session = try HTTP2Session(configuration: configuration, executor: executor, logger: logger, makeHandler: makeHandler)
        try channel.pipeline.syncOperations.addHandler(HTTP2ConnectionHandler(session: session))
    }

    /// The handler of each stream: Twirp's requests collected whole for the responder, gRPC's
    /// to `application.streams`.
    static func streamFactory(for application: HTTPApplication, maxBodySize: Int) -> HTTP2StreamHandlerFactory {
        { stream in HTTP2StreamDispatcher(stream: stream, application: application, maxBodySize: maxBodySize) }
    }

    private func startHTTP1(_ channel: any Channel, logger: Logger) throws {
        try Self.configureHTTP1(channel, configuration: http1, responder: application.responder, admit: application.admit,
                                executor: executors.executor(for: channel.eventLoop), logger: logger)
    }

    /// Adds the HTTP/1.1 handlers to a connection whose protocol has been chosen.
    static func configureHTTP1(_ channel: any Channel, configuration: HTTP1Configuration, responder: @escaping HTTPResponder,
                               admit: @escaping HTTPAdmitter = { _, _, _ in .admitted },
                               executor: EventLoopTaskExecutor, logger: Logger) throws {
        let guardian = SlowClientGuard(configuration: configuration)
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(guardian)
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maxHeadSize
        limits.maxHeaderFieldSize = configuration.maxHeadSize
        limits.maxHeaderFieldCount = 256
        try operations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false,
                                                   withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
        try operations.addHandler(HTTP1RequestHandler(responder: responder, admit: admit, configuration: configuration,
                                                       guardian: guardian, executor: executor, logger: logger))
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
            channel.pipeline.fireUserInboundEventTriggered(HTTPGracefulShutdownEvent())
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
