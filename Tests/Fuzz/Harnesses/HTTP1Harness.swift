#if DEBUG || FUZZING
@testable import HTTP
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The server's HTTP/1.1 connection as `HTTPServer` sets it up (`configureHTTP1`: the slow-client
/// guard, NIO's codec with the server's limits, pipelining, the request handler), on an
/// `EmbeddedChannel` whose responder answers 200. The input arrives in chunks; the embedded
/// loop runs the responder's task (an `EventLoopTaskExecutor` of that loop) and its timers.
///
/// Input: `[flags] [chunk count, sizes…] [bytes from the client]`. Flags: bits 0-1 the time
/// that passes after each chunk (none, 1 s, 11 s: past the request read timeout, 61 s: past the
/// idle timeout); bit 2 small limits (a 64-byte body, a 256-byte head); bit 3 a graceful
/// shutdown after the last chunk.
enum HTTP1Harness {
    static let logger = Logger(label: "fuzz-http1") { _ in SwiftLogNoOpLogHandler() }
    static let pauses: [TimeAmount?] = [nil, .seconds(1), .seconds(11), .seconds(61)]

    static let responder: HTTPResponder = { request in
        HTTPResponse(status: 200, headers: [HeaderField("content-type", "text/plain")],
                     body: ByteBuffer(string: "\(request.method) \(request.path) \(request.body.readableBytes)\n"))
    }

    static func run(_ bytes: [UInt8]) {
        _ = exchange(bytes)
    }

    /// What the server wrote back to the input (in the harness's input format).
    static func exchange(_ bytes: [UInt8]) -> [UInt8] {
        var input = FuzzInput(bytes)
        let flags = input.byte()
        let pause = pauses[Int(flags & 0x3)]
        var configuration = HTTP1Configuration()
        if flags & 0x4 != 0 {
            configuration.maxBodySize = 64
            configuration.maxHeadSize = 256
        }
        let sizes = input.chunkSizes()

        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        do {
            try HTTPServer.configureHTTP1(channel, configuration: configuration, responder: responder,
                                          executor: EventLoopTaskExecutor(loop), logger: logger)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7880)).wait()
        } catch {
            preconditionFailure("the HTTP/1.1 pipeline cannot be set up: \(error)")
        }
        var written: [UInt8] = []
        for chunk in input.rest.chunked(sizes) {
            guard channel.isActive else { break }
            _ = try? channel.writeInbound(channel.allocator.buffer(bytes: chunk))
            loop.run()
            if let pause { loop.advanceTime(by: pause) }
            drainOutbound(channel, into: &written)
        }
        if flags & 0x8 != 0, channel.isActive {
            channel.pipeline.fireUserInboundEventTriggered(HTTPGracefulShutdownEvent())
        }
        loop.run()
        drainOutbound(channel, into: &written)
        _ = try? channel.finish(acceptAlreadyClosed: true)
        return written
    }

    /// Takes what the server wrote: `IOData` from NIO's encoder, `ByteBuffer` from the guard.
    private static func drainOutbound(_ channel: EmbeddedChannel, into written: inout [UInt8]) {
        while true {
            do {
                switch try channel.readOutbound(as: IOData.self) {
                case .byteBuffer(let buffer)?: written += buffer.readableBytesView
                case .fileRegion?: continue
                case nil: return
                }
            } catch {
                continue  // another type; it was taken off the buffer all the same
            }
        }
    }
}
#endif
