#if DEBUG || FUZZING
import GRPCServices
@testable import HTTP
import Logging
import NIOCore
import NIOEmbedded
import RPC

/// The server's HTTP/2 connection as `HTTPServer` sets it up (`configureHTTP2`: one nghttp2
/// session with the server's callbacks, flood limits, response budget and flow control, the
/// stream dispatcher), on an `EmbeddedChannel`: gRPC streams go to a `GRPCServer` and Twirp
/// requests to a `TwirpServer`, both over the health service, so frames reach real handlers.
///
/// Input: `[flags] [chunk count, sizes…] [bytes from the client]`. Flags: bit 0 sends the client
/// preface and an empty SETTINGS frame first (so mutations explore frames, not the preface);
/// bits 1-2 the time that passes after each chunk (none; 200 ms, past the GOAWAY grace; 11 s,
/// past the handshake timeout; 31 s, past the send timeout); bit 3 a graceful shutdown after the
/// last chunk; bit 4 tiny limits (a 1-byte response budget, so calls wait and request data is
/// held back; 64-byte bodies; a 256-byte header list).
enum HTTP2Harness {
    static let logger = Logger(label: "fuzz-http2") { _ in SwiftLogNoOpLogHandler() }
    static let pauses: [TimeAmount?] = [nil, .milliseconds(200), .seconds(11), .seconds(31)]
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]

    /// Made for each input, and gone with it: a Health Watch forms a weak reference to the
    /// status, whose side table LeakSanitizer cannot see referenced from a long-lived object.
    static func makeApplication() -> HTTPApplication {
        let health = HealthStatus()
        health.set("", .serving)
        let router = RPCRouter(services: [HealthService(health).rpcService])
        let grpc = GRPCServer(router: router, configuration: RPCConfiguration(), logger: logger)
        let twirp = TwirpServer(router: router, configuration: RPCConfiguration(), logger: logger)
        return HTTPApplication(streams: grpc.streamHandlerFactory, responder: twirp.responder, bufferedPathPrefix: TwirpServer.pathPrefix)
    }

    static func run(_ bytes: [UInt8]) {
        _ = exchange(bytes)
    }

    /// What the server wrote back to the input (in the harness's input format).
    static func exchange(_ bytes: [UInt8]) -> [UInt8] {
        var input = FuzzInput(bytes)
        let flags = input.byte()
        let pause = pauses[Int(flags >> 1 & 0x3)]
        var configuration = HTTP2Configuration()
        var maxBodySize = 4 * 1024 * 1024
        if flags & 0x10 != 0 {
            configuration.connectionResponseBudget = 1
            configuration.maxHeaderListSize = 256
            maxBodySize = 64
        }
        let sizes = input.chunkSizes()
        let data = (flags & 0x1 != 0 ? preface : []) + input.rest

        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        do {
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7880)).wait()
            try HTTPServer.configureHTTP2(channel, configuration: configuration, executor: EventLoopTaskExecutor(loop), logger: logger,
                                          makeHandler: HTTPServer.streamFactory(for: makeApplication(), maxBodySize: maxBodySize))
        } catch {
            preconditionFailure("the HTTP/2 connection cannot be set up: \(error)")
        }
        var written: [UInt8] = []
        for chunk in data.chunked(sizes) {
            guard channel.isActive else { break }
            _ = try? channel.writeInbound(channel.allocator.buffer(bytes: chunk))
            loop.run()
            if let pause { loop.advanceTime(by: pause) }
            drainOutbound(channel, into: &written)
        }
        if flags & 0x8 != 0, channel.isActive {
            channel.pipeline.fireUserInboundEventTriggered(HTTPGracefulShutdownEvent())
            loop.advanceTime(by: .seconds(1))
        }
        loop.run()
        drainOutbound(channel, into: &written)
        _ = try? channel.finish(acceptAlreadyClosed: true)
        loop.run()
        return written
    }

    private static func drainOutbound(_ channel: EmbeddedChannel, into written: inout [UInt8]) {
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
            written += buffer.readableBytesView
        }
    }
}
#endif
