import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One client HTTP/2 connection (h2c with prior knowledge, or TLS with ALPN `h2`): many
/// concurrent requests, each a stream, multiplexed on one socket. Safe to use from any task;
/// its session lives on the connection's event loop.
public final class HTTP2ClientConnection: Sendable {
    public let eventLoop: any EventLoop
    private let loopBound: NIOLoopBound<State>
    private let channel: any Channel
    private let usable: UsableFlag

    private final class State {
        let handler: HTTP2ClientHandler
        var session: HTTP2ClientSession { handler.session }
        var closedReason: String? { handler.closedReason }

        init(handler: HTTP2ClientHandler) {
            self.handler = handler
        }
    }

    /// Connects to `host`:`port`; with `tls`, over TLS (`serverHostname` for SNI and the
    /// certificate check). Throws when the socket, the TLS handshake or ALPN fails.
    public static func connect(host: String, port: Int, tls: NIOSSLContext? = nil, serverHostname: String? = nil,
                               group: any EventLoopGroup, connectTimeout: TimeAmount = .seconds(10),
                               logger: Logger) async throws -> HTTP2ClientConnection {
        // The session's handler is in the pipeline before the socket connects, so that not a byte
        // of the server's (its SETTINGS come first) can arrive ahead of it.
        let usable = UsableFlag()
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = try NIOSSLClientHandler(context: tls, serverHostname: serverHostname)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHandler(HTTP2ClientHandler(session: try HTTP2ClientSession(logger: logger), usable: usable))
                }
            }
            .connect(host: host, port: port).get()
        do {
            return try await channel.eventLoop.submit {
                let handler = try channel.pipeline.syncOperations.handler(type: HTTP2ClientHandler.self)
                return HTTP2ClientConnection(channel: channel, handler: handler, usable: usable)
            }.get()
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private init(channel: any Channel, handler: HTTP2ClientHandler, usable: UsableFlag) {
        self.channel = channel
        self.usable = usable
        eventLoop = channel.eventLoop
        loopBound = NIOLoopBound(State(handler: handler), eventLoop: channel.eventLoop)
    }

    /// Opens a stream on the event loop: `delegate` hears its response there. Fails when the
    /// connection is closed or going away (then open a new one).
    public func openStream(_ headers: [HeaderField], body: ByteBuffer, endStream: Bool,
                           delegate: any HTTP2ClientStreamDelegate & Sendable) -> EventLoopFuture<Int32> {
        eventLoop.submit { [loopBound] in
            let state = loopBound.value
            if let reason = state.closedReason { throw HTTP2ConnectionClosed(reason: reason) }
            return try state.session.submitRequest(headers, body: body, endStream: endStream, delegate: delegate)
        }
    }

    /// More of a stream's request (streaming calls).
    public func send(_ data: ByteBuffer, on stream: Int32, endStream: Bool) {
        eventLoop.execute { [loopBound] in loopBound.value.session.send(data, on: stream, endStream: endStream) }
    }

    /// Hands back `count` bytes of a stream's DATA, taken by its reader (flow control).
    public func consume(_ count: Int, on stream: Int32) {
        eventLoop.execute { [loopBound] in loopBound.value.session.consume(stream, count) }
    }

    /// Cancels a stream.
    public func reset(_ stream: Int32, code: HTTP2ErrorCode = .cancel) {
        eventLoop.execute { [loopBound] in loopBound.value.session.reset(stream, code: code) }
    }

    /// Whether new streams can be opened here: connected, and no GOAWAY received (as last seen
    /// on the event loop; opening a stream checks again there).
    public var isUsable: Bool { usable.value.load(ordering: .acquiring) }

    /// Sends GOAWAY and closes the socket; open streams end with `.connectionClosed`.
    public func close() async {
        try? await eventLoop.submit { [loopBound] in loopBound.value.session.terminate() }.get()
        try? await channel.close()
    }
}

/// Whether a connection can take new streams, as its event loop last saw: read from any thread
/// without a hop to the loop.
final class UsableFlag: Sendable {
    let value = Atomic(true)

    func clear() { value.store(false, ordering: .releasing) }
}

/// Why a stream could not be opened.
public struct HTTP2ConnectionClosed: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "the connection is closed: \(reason)" }
}

/// Drives a client `HTTP2ClientSession` from its channel.
final class HTTP2ClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let session: HTTP2ClientSession
    private let usable: UsableFlag
    private var context: ChannelHandlerContext?
    private var isReceiving = false
    private var flushScheduled = false
    /// Why the connection is gone, once it is.
    private(set) var closedReason: String?

    init(session: HTTP2ClientSession, usable: UsableFlag) {
        self.session = session
        self.usable = usable
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        session.outputPending = { [weak self] in self?.scheduleFlush() }
        if context.channel.isActive { flush() }
    }

    /// The client preface and SETTINGS go out as soon as the socket is connected.
    func channelActive(context: ChannelHandlerContext) {
        flush()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        session.outputPending = {}
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        isReceiving = true
        do {
            try session.receive(unwrapInboundIn(data))
        } catch {
            session.logger.debug("the HTTP/2 client session failed", metadata: ["error": "\(error)"])
            close(context, reason: "\(error)")
        }
        isReceiving = false
        if session.goAwayReceived { usable.clear() }
        flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        close(context, reason: "the server closed the connection")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(context, reason: "\(error)")
    }

    private func close(_ context: ChannelHandlerContext, reason: String) {
        guard closedReason == nil else { return }
        closedReason = reason
        usable.clear()
        session.connectionClosed(reason)
        context.close(promise: nil)
    }

    /// Output made inside a read goes out when the read is done; otherwise soon, once.
    private func scheduleFlush() {
        guard !isReceiving, !flushScheduled, let context else { return }
        flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            loopBound.value.flushScheduled = false
            loopBound.value.flush()
        }
    }

    private func flush() {
        guard let context, context.channel.isActive else { return }
        var buffer = context.channel.allocator.buffer(capacity: 0)
        do {
            try session.drainOutput(into: &buffer, limit: 1 << 20)
        } catch {
            return close(context, reason: "\(error)")
        }
        if buffer.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
        if session.wantsWrite {
            scheduleFlush()
        } else if !session.isAlive {
            let reason = if session.goAwayReceived {
                "the server ended the connection (GOAWAY)"
            } else if let why = session.terminationReason {
                "the client ended the connection on a protocol error (\(why))"
            } else {
                "the HTTP/2 session ended"
            }
            close(context, reason: reason)
        }
    }
}
