import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import HTTP

/// An HTTP/2 connection's graceful shutdown on an `EmbeddedChannel`, frame by frame: the notice
/// (GOAWAY naming the highest stream id), the final GOAWAY naming the last stream taken, a
/// request in progress still read and answered after both, a stream opened past the final
/// GOAWAY not taken, and then a half close that goes on reading (and dropping) what the client
/// sends for a second, so that the client receives the GOAWAY before any reset.
@Suite struct HTTP2ShutdownTests {
    struct Frame: Equatable {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]

        static let data: UInt8 = 0, headers: UInt8 = 1, settings: UInt8 = 4, goAway: UInt8 = 7
        static let endStream: UInt8 = 1, endHeaders: UInt8 = 4

        var bytes: [UInt8] {
            let length = UInt32(payload.count)
            var bytes = (0..<3).map { UInt8(truncatingIfNeeded: length >> (16 - 8 * $0)) }
            bytes += [type, flags]
            bytes += (0..<4).map { UInt8(truncatingIfNeeded: stream >> (24 - 8 * $0)) }
            return bytes + payload
        }

        /// The frames in `bytes` (whole ones only).
        static func parse(_ bytes: [UInt8]) -> [Frame] {
            var frames: [Frame] = []
            var at = 0
            while bytes.count - at >= 9 {
                let length = Int(number(bytes[at..<(at + 3)]))
                guard bytes.count - at - 9 >= length else { break }
                let stream = number(bytes[(at + 5)..<(at + 9)]) & 0x7FFF_FFFF
                frames.append(Frame(type: bytes[at + 3], flags: bytes[at + 4], stream: stream, payload: Array(bytes[(at + 9)..<(at + 9 + length)])))
                at += 9 + length
            }
            return frames
        }

        /// A GOAWAY's last stream id.
        var lastStream: UInt32? {
            guard type == Self.goAway, payload.count >= 8 else { return nil }
            return Self.number(payload[0..<4]) & 0x7FFF_FFFF
        }

        /// A big-endian number.
        static func number(_ bytes: ArraySlice<UInt8>) -> UInt32 {
            bytes.reduce(0) { $0 << 8 | UInt32($1) }
        }
    }

    /// A request head in HPACK: every field a literal without indexing, new name, no Huffman.
    static func requestHeaders(path: String) -> [UInt8] {
        let fields = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "x"),
                      ("content-type", "application/json")]
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0)
            block.append(UInt8(name.utf8.count))
            block += name.utf8
            block.append(UInt8(value.utf8.count))
            block += value.utf8
        }
        return block
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Frame(type: Frame.settings, flags: 0, stream: 0, payload: []).bytes

    final class Seen: Sendable {
        let requests = Mutex<[String]>([])
        var all: [String] { requests.withLock { $0 } }
    }

    func connection() throws -> (EmbeddedChannel, EmbeddedWire, Seen) {
        let seen = Seen()
        let application = HTTPApplication(streams: { _ in fatalError("every request here is buffered") }, responder: { request in
            let text = "\(request.path) \(String(buffer: request.body))"
            seen.requests.withLock { $0.append(text) }
            return HTTPResponse(status: 200, body: ByteBuffer(string: text))
        }, bufferedPathPrefix: "/")
        let channel = EmbeddedChannel()
        let wire = EmbeddedWire()
        try channel.pipeline.syncOperations.addHandler(wire)
        try HTTPServer.configureHTTP2(channel, configuration: HTTP2Configuration(), executor: EventLoopTaskExecutor(channel.embeddedEventLoop),
                                      logger: Logger(label: "test"), makeHandler: HTTPServer.streamFactory(for: application, maxBodySize: 1 << 20))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7880)).wait()
        return (channel, wire, seen)
    }

    func send(_ channel: EmbeddedChannel, _ bytes: [UInt8]) throws {
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        channel.settle()
    }

    @Test func aRequestInProgressIsReadAndAnsweredAfterTheGoAwaysAndTheConnectionLingers() throws {
        let (channel, wire, seen) = try connection()
        // Stream 1: a request whose body has not come yet.
        try send(channel, Self.preface + Frame(type: Frame.headers, flags: Frame.endHeaders, stream: 1, payload: Self.requestHeaders(path: "/one")).bytes)
        _ = wire.take()

        channel.pipeline.fireUserInboundEventTriggered(HTTPGracefulShutdownEvent())
        channel.settle()
        let notice = Frame.parse(wire.take()).filter { $0.type == Frame.goAway }
        #expect(notice.map(\.lastStream) == [0x7FFF_FFFF])

        channel.embeddedEventLoop.advanceTime(by: .milliseconds(100))  // the grace period
        channel.settle()
        let final = Frame.parse(wire.take()).filter { $0.type == Frame.goAway }
        #expect(final.map(\.lastStream) == [1])

        // A new stream past the final GOAWAY is not taken; stream 1's body still is, and answered.
        try send(channel, Frame(type: Frame.headers, flags: Frame.endHeaders | Frame.endStream, stream: 3,
                                payload: Self.requestHeaders(path: "/late")).bytes)
        #expect(!wire.outputClosed)
        try send(channel, Frame(type: Frame.data, flags: Frame.endStream, stream: 1, payload: Array("body".utf8)).bytes)
        let answer = Frame.parse(wire.take())
        #expect(answer.filter { $0.stream == 1 }.map(\.type) == [Frame.headers, Frame.data])
        #expect(answer.first { $0.type == Frame.data }?.payload == Array("/one body".utf8))
        #expect(seen.all == ["/one body"])

        // Nothing is left: the output is closed, and what the client still sends is read and
        // dropped, even from a client that reads nothing itself.
        #expect(wire.outputClosed)
        #expect(channel.isActive)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        let readsBefore = wire.reads
        try send(channel, Frame(type: Frame.data, flags: 0, stream: 1, payload: Array(repeating: 0, count: 1000)).bytes + [0xFF, 0xFF])
        channel.read()
        #expect(wire.reads == readsBefore + 1)
        #expect(wire.take().isEmpty)
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))  // the linger
        #expect(!channel.isActive)
        #expect(seen.all == ["/one body"])
    }
}
