import NIOCore
import NIOEmbedded

/// The socket end of an `EmbeddedChannel`'s pipeline, for tests of the HTTP handlers: it sees
/// every byte written and every read asked for, can hold the completion of writes (a client
/// that reads nothing), and takes a half close (`close(mode: .output)`, which an embedded
/// channel would turn into a full one) as a real socket does.
final class EmbeddedWire: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Writes complete only when released (the client has read them).
    var holdsWrites = false
    private(set) var heldWrites: [EventLoopPromise<Void>] = []
    /// `read()` calls that reached the socket.
    private(set) var reads = 0
    private(set) var outputClosed = false
    private var written: [UInt8] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard context.channel.isActive else {  // as a closed socket: nothing more goes out
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        written += Array(buffer: unwrapOutboundIn(data))
        guard holdsWrites else { return context.write(data, promise: promise) }
        let held = context.eventLoop.makePromise(of: Void.self)
        heldWrites.append(held)
        if let promise { held.futureResult.cascade(to: promise) }
        context.write(data, promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output {
            outputClosed = true
            promise?.succeed(())
        } else {
            context.close(mode: mode, promise: promise)
        }
    }

    /// The client reads the `count` oldest writes held.
    func release(_ count: Int) {
        let released = heldWrites.prefix(count)
        heldWrites.removeFirst(released.count)
        for promise in released { promise.succeed(()) }
    }

    /// Every byte written since the last call.
    func take() -> [UInt8] {
        defer { written = [] }
        return written
    }

    /// Every byte written since the last call, as text.
    func takeText() -> String {
        String(decoding: take(), as: UTF8.self)
    }
}

extension EmbeddedChannel {
    /// Runs what is due on the loop until nothing more is (answers made by tasks hop back to the loop).
    func settle() {
        for _ in 0..<10 { embeddedEventLoop.run() }
    }
}
