import Logging
import NIOCore

/// Sent down a connection's pipeline to start a graceful shutdown of it.
public struct HTTPGracefulShutdownEvent: Sendable {
    public init() {}
}

/// Drives one connection's `HTTP2Session` from its channel: bytes read go to nghttp2, nghttp2's
/// output is written back, and reads pause while the peer is not taking what is written.
final class HTTP2ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let session: HTTP2Session
    private var context: ChannelHandlerContext?
    private var isReceiving = false
    private var isFlushing = false
    private var flushScheduled = false
    private var readWaitingForWritability = false
    private var isClosing = false
    private var handshakeTimeout: Scheduled<Void>?
    private var goAwayTimer: Scheduled<Void>?
    /// After the last GOAWAY: input is read and dropped until the peer closes or this fires.
    private var lingerTimer: Scheduled<Void>?
    /// Checks that a client with answers waiting takes some of them (see `sendTimeout`).
    private var stallTimer: Scheduled<Void>?

    /// How long a closing connection keeps reading, so that the peer receives the GOAWAY before
    /// any RST that unread input would provoke.
    private static let linger: TimeAmount = .seconds(1)

    /// Output is drained from nghttp2 in pieces of about this size.
    private static let writeChunk = 64 * 1024

    init(session: HTTP2Session) {
        self.session = session
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard handshakeTimeout == nil else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        do {
            // Weak: the session is owned by this handler.
            try session.start(delegate: .init(outputPending: { [weak self] in self?.outputPending() },
                                              responsesWaiting: { [weak self] in self?.armStallCheck() }))
        } catch {
            session.logger.error("could not start the HTTP/2 session", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        handshakeTimeout = context.eventLoop.scheduleTask(in: .init(session.configuration.handshakeTimeout)) {
            loopBound.value.session.logger.debug("closing a connection that did not complete the HTTP/2 handshake")
            loopBound.value.session.terminate(.protocolError, reason: "handshake timeout")
            loopBound.value.closeNow()
        }
        flushOutput()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard lingerTimer == nil else { return }
        let buffer = unwrapInboundIn(data)
        isReceiving = true
        do {
            try session.receive(buffer)
            handshakeTimeout?.cancel()
        } catch {
            session.logger.debug("the HTTP/2 session failed", metadata: ["error": "\(error)"])
            isClosing = true
        }
        isReceiving = false
        flushOutput()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        stallTimer?.cancel()
        goAwayTimer?.cancel()
        lingerTimer?.cancel()
        session.connectionClosed()
        session.detachDelegate()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            flushOutput()
            if readWaitingForWritability {
                readWaitingForWritability = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Backpressure: a peer that does not read what it is sent is not read from either.
    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable || lingerTimer != nil {
            context.read()
        } else {
            readWaitingForWritability = true
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is HTTPGracefulShutdownEvent {
            beginGracefulShutdown(context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func beginGracefulShutdown(_ context: ChannelHandlerContext) {
        guard goAwayTimer == nil else { return }
        session.announceShutdown()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        goAwayTimer = context.eventLoop.scheduleTask(in: .init(session.configuration.goAwayGracePeriod)) {
            loopBound.value.session.finalGoAway()
        }
    }

    // MARK: Clients that take nothing

    /// Answers wait in the session (flow control, or a socket that takes nothing): if none of
    /// them is taken for `sendTimeout`, the connection is closed. (A socket that takes nothing
    /// is also caught by `SendProgressGuard`; this catches a client that reads the socket but
    /// never opens its flow-control windows.)
    private func armStallCheck(after delay: TimeAmount? = nil) {
        guard stallTimer == nil, let context else { return }
        let timeout = TimeAmount(session.configuration.sendTimeout)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        stallTimer = context.eventLoop.scheduleTask(in: delay ?? timeout) {
            let handler = loopBound.value
            handler.stallTimer = nil
            guard handler.session.bufferedResponseBytes > 0 else { return }
            let waited = NIODeadline.now() - handler.session.lastResponseProgress
            guard waited >= timeout else { return handler.armStallCheck(after: timeout - waited) }
            handler.session.terminate(.enhanceYourCalm, reason: "the client took no response data for \(handler.session.configuration.sendTimeout)")
            handler.isClosing = true
            handler.flushOutput()
        }
    }

    // MARK: Output

    private func outputPending() {
        guard !isReceiving, !isFlushing, !flushScheduled, let context else { return }
        flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            loopBound.value.flushScheduled = false
            loopBound.value.flushOutput()
        }
    }

    /// Writes what nghttp2 has ready while the channel is writable (all of it when closing);
    /// closes the connection once the session has nothing left to do (after GOAWAY, or a fatal error).
    ///
    /// Flushing can make the channel writable again from inside this method (NIO reports the
    /// change synchronously), so it drains again after each flush rather than wait for an event
    /// it has already been given.
    private func flushOutput() {
        guard let context, !isFlushing else { return }
        isFlushing = true
        defer { isFlushing = false }
        do {
            var wrote: Bool
            repeat {
                wrote = false
                while context.channel.isWritable || isClosing, session.wantsWrite {
                    var buffer = context.channel.allocator.buffer(capacity: 4096)
                    try session.drainOutput(into: &buffer, limit: Self.writeChunk)
                    guard buffer.readableBytes > 0 else { break }
                    context.write(wrapOutboundOut(buffer), promise: nil)
                    wrote = true
                }
                if wrote { context.flush() }
            } while wrote && !isClosing && context.channel.isWritable && session.wantsWrite
        } catch {
            session.logger.debug("could not produce HTTP/2 output", metadata: ["error": "\(error)"])
            isClosing = true
        }
        if isClosing || !session.isAlive {
            isClosing = true
            closeLingering(context)
        }
    }

    /// Sends FIN after what is written, then drops input until the peer closes or the linger ends.
    private func closeLingering(_ context: ChannelHandlerContext) {
        guard lingerTimer == nil else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        lingerTimer = context.eventLoop.scheduleTask(in: Self.linger) { loopBound.value.closeNow() }
        context.close(mode: .output).whenFailure { _ in loopBound.value.closeNow() }
        if readWaitingForWritability {
            readWaitingForWritability = false
            context.read()
        }
    }

    private func closeNow() {
        context?.close(promise: nil)
    }
}
