import NIOCore
import NIOTLS

/// Decides each new connection's protocol, then hands the connection over and leaves the
/// pipeline. Under TLS, ALPN decides (`h2` or `http/1.1`); in plaintext, or when the client
/// offered no ALPN, the first bytes do: the HTTP/2 connection preface means HTTP/2 (h2c with
/// prior knowledge), anything else is an HTTP/1.1 request line. A connection that has not
/// decided within the handshake timeout is closed.
final class ProtocolSelector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Choice: Sendable { case http2, http1 }

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private var waitsForALPN: Bool
    private let timeout: Duration
    private let configure: (Choice, ChannelHandlerContext) throws -> Void
    private var buffered: ByteBuffer?
    private var timer: Scheduled<Void>?
    private var isDecided = false

    /// `configure` adds the chosen protocol's handlers at the end of the pipeline.
    init(waitsForALPN: Bool, timeout: Duration, configure: @escaping (Choice, ChannelHandlerContext) throws -> Void) {
        self.waitsForALPN = waitsForALPN
        self.timeout = timeout
        self.configure = configure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .init(timeout)) { loopBound.value.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event {
            waitsForALPN = false
            switch negotiated {
            case "h2": decide(.http2, context)
            case "http/1.1": decide(.http1, context)
            default: sniff(context)
            }
        } else if event is HTTPGracefulShutdownEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if buffered == nil {
            buffered = bytes
        } else {
            buffered!.writeBuffer(&bytes)
        }
        if !waitsForALPN { sniff(context) }
    }

    private func sniff(_ context: ChannelHandlerContext) {
        guard let buffered, buffered.readableBytes > 0 else { return }
        let count = min(buffered.readableBytes, Self.preface.count)
        let start = buffered.readableBytesView.startIndex
        if !buffered.readableBytesView[start..<start + count].elementsEqual(Self.preface.prefix(count)) {
            decide(.http1, context)
        } else if count == Self.preface.count {
            decide(.http2, context)
        }
    }

    private func decide(_ choice: Choice, _ context: ChannelHandlerContext) {
        guard !isDecided else { return }
        isDecided = true
        timer?.cancel()
        do {
            try configure(choice, context)
        } catch {
            context.close(promise: nil)
            return
        }
        if let buffered {
            self.buffered = nil
            context.fireChannelRead(wrapInboundOut(buffered))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
