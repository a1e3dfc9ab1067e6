import Logging
import NIOCore

/// The first handler of every connection, on the bytes as they go to the socket: closes a
/// connection whose peer has taken none of what is waiting for it for `timeout`. With the
/// response budgets (HTTP/1.1's, and HTTP/2's per connection) this bounds what a client that
/// stops reading can hold: at most a budget's worth, for at most this long.
///
/// Large writes are passed on in slices, so that the completion of each slice tells of
/// progress within one large response.
final class SendProgressGuard: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let slice = 64 * 1024

    private let timeout: TimeAmount
    private let logger: Logger
    /// Bytes written and not yet taken by the socket.
    private var unsent = 0
    private var lastProgress = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(timeout: Duration, logger: Logger) {
        self.timeout = TimeAmount(timeout)
        self.logger = logger
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        while buffer.readableBytes > Self.slice, let part = buffer.readSlice(length: Self.slice) {
            pass(context, part, promise: nil)
        }
        pass(context, buffer, promise: promise)
    }

    private func pass(_ context: ChannelHandlerContext, _ bytes: ByteBuffer, promise: EventLoopPromise<Void>?) {
        let size = bytes.readableBytes
        if unsent == 0 {
            lastProgress = .now()
            arm(context, in: timeout)
        }
        unsent += size
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.assumeIsolated().whenComplete { _ in
            self.unsent -= size
            self.lastProgress = .now()
            if self.unsent == 0 { self.timer?.cancel() }
        }
        context.write(wrapOutboundOut(bytes), promise: written)
    }

    private func arm(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        timer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) {
            let (guarded, context) = loopBound.value
            guarded.check(context)
        }
    }

    private func check(_ context: ChannelHandlerContext) {
        guard unsent > 0 else { return }
        let waited = NIODeadline.now() - lastProgress
        guard waited >= timeout else { return arm(context, in: timeout - waited) }
        logger.notice("closing a connection whose client has read nothing", metadata: [
            "unsent_bytes": "\(unsent)", "seconds": "\(Double(waited.nanoseconds) / 1e9)",
        ])
        context.close(promise: nil)
    }
}
