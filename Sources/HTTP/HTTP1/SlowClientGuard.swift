import NIOCore

/// The first handler of an HTTP/1.1 connection, on raw bytes: closes connections that hold the
/// server without using it. A request must arrive whole within `requestReadTimeout` of its
/// first byte (else 408 and close: slow loris), and a connection idle between requests is
/// closed after `idleTimeout`. The request handler says when a request has arrived and when
/// its response has been written.
final class SlowClientGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase { case idle, reading, answering }

    private let configuration: HTTP1Configuration
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(configuration: HTTP1Configuration) {
        self.configuration = configuration
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        becomeIdle()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .idle {
            phase = .reading
            arm(configuration.requestReadTimeout) { guarded in
                guarded.timedOut(status: "408 Request Timeout")
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    /// A whole request has arrived: no deadline while it is answered.
    func requestReceived() {
        phase = .answering
        timer?.cancel()
    }

    /// Every answer owed is written: the connection is idle until the next request's first
    /// byte — or, when part of the next request has come already, that request has
    /// `requestReadTimeout` from now to arrive whole.
    func responseSent(requestUnderway: Bool) {
        guard requestUnderway else { return becomeIdle() }
        phase = .reading
        arm(configuration.requestReadTimeout) { guarded in
            guarded.timedOut(status: "408 Request Timeout")
        }
    }

    private func becomeIdle() {
        phase = .idle
        arm(configuration.idleTimeout) { guarded in
            guarded.context?.close(promise: nil)
        }
    }

    private func arm(_ delay: Duration, _ body: @escaping (SlowClientGuard) -> Void) {
        timer?.cancel()
        guard let context else { return }
        let loopBound = NIOLoopBound((self, body), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .init(delay)) { loopBound.value.1(loopBound.value.0) }
    }

    private func timedOut(status: String) {
        guard let context else { return }
        var response = context.channel.allocator.buffer(capacity: 96)
        response.writeString("HTTP/1.1 \(status)\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
        context.writeAndFlush(wrapOutboundOut(response)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
