import NIOCore
import NIOEmbedded
import NIOTLS
import Testing
@testable import HTTP

/// How a connection's protocol is chosen, on an `EmbeddedChannel`: the HTTP/2 preface (even in
/// pieces) means HTTP/2, anything else HTTP/1.1; under TLS, ALPN decides, and a client that
/// offered no ALPN is sniffed like plaintext; undecided connections are closed at the timeout;
/// every byte read before the choice reaches the chosen protocol.
@Suite struct ProtocolSelectorTests {
    /// Collects what reaches the chosen protocol.
    final class Received: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var bytes: [UInt8] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            bytes += Array(buffer: unwrapInboundIn(data))
        }
    }

    final class Outcome: @unchecked Sendable {
        var choice: ProtocolSelector.Choice?
        let received = Received()
    }

    func channel(waitsForALPN: Bool = false) throws -> (EmbeddedChannel, Outcome) {
        let outcome = Outcome()
        let selector = ProtocolSelector(waitsForALPN: waitsForALPN, timeout: .seconds(10)) { choice, context in
            outcome.choice = choice
            try context.pipeline.syncOperations.addHandler(outcome.received)
        }
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(selector)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7880)).wait()
        return (channel, outcome)
    }

    let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    @Test func thePrefaceInPiecesIsHTTP2AndEveryByteIsPassedOn() throws {
        let (channel, outcome) = try channel()
        try channel.writeInbound(ByteBuffer(bytes: preface[..<5]))
        #expect(outcome.choice == nil)  // "PRI *" could still be either
        try channel.writeInbound(ByteBuffer(bytes: preface[5...] + [0, 0, 0, 4]))
        #expect(outcome.choice == .http2)
        #expect(outcome.received.bytes == preface + [0, 0, 0, 4])
        _ = try channel.finish()
    }

    @Test func aRequestLineIsHTTP1FromItsFirstDifferentByte() throws {
        let (channel, outcome) = try channel()
        try channel.writeInbound(ByteBuffer(bytes: Array("PRX".utf8)))
        #expect(outcome.choice == .http1)
        try channel.writeInbound(ByteBuffer(bytes: Array(" / HTTP/1.1\r\n".utf8)))
        #expect(outcome.received.bytes == Array("PRX / HTTP/1.1\r\n".utf8))
        _ = try channel.finish()
    }

    @Test func underTLSALPNDecidesAndBytesWaitForIt() throws {
        let (channel, outcome) = try channel(waitsForALPN: true)
        try channel.writeInbound(ByteBuffer(bytes: Array("GET / HTTP/1.1\r\n".utf8)))
        #expect(outcome.choice == nil)  // not until the handshake says
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: "h2"))
        #expect(outcome.choice == .http2)
        #expect(outcome.received.bytes == Array("GET / HTTP/1.1\r\n".utf8))
        _ = try channel.finish()
    }

    @Test func aTLSClientWithoutALPNIsSniffed() throws {
        let (channel, outcome) = try channel(waitsForALPN: true)
        try channel.writeInbound(ByteBuffer(bytes: preface))
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        #expect(outcome.choice == .http2)
        let (plain, plainOutcome) = try self.channel(waitsForALPN: true)
        plain.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        #expect(plainOutcome.choice == nil)  // nothing read yet
        try plain.writeInbound(ByteBuffer(bytes: Array("POST".utf8)))
        #expect(plainOutcome.choice == .http1)
        _ = try channel.finish()
        _ = try plain.finish()
    }

    @Test func aConnectionThatDecidesNothingIsClosedAtTheTimeout() throws {
        let (channel, outcome) = try channel()
        try channel.writeInbound(ByteBuffer(bytes: preface[..<10]))  // a preface that never ends
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(outcome.choice == nil)
    }
}
