import Logging
import NIOCore
import NIOPosix
import WebRTC

/// The UDP port every publisher sends its RTP and RTCP to. Datagrams are handed to the hub on
/// its own event loop.
public final class RTPIngest: Sendable {
    public let hub: RoomHub
    private let channel: any Channel

    /// The bound address.
    public var localAddress: SocketAddress? { channel.localAddress }

    private init(hub: RoomHub, channel: any Channel) {
        self.hub = hub
        self.channel = channel
    }

    /// Binds the hub's RTP port (WebRTC's too: a DTLS certificate is made for it) and starts
    /// the hub's periodic work.
    public static func start(hub: RoomHub) async throws -> RTPIngest {
        let configuration = hub.configuration
        for host in configuration.webRTCHosts where (try? SocketAddress(ipAddress: host, port: 0)) == nil {
            throw HubError.invalidArgument("WebRTC host \"\(host.prefix(64))\" is not a numeric IPv4 or IPv6 address")
        }
        let dtls = try DTLSContext(certificate: DTLSCertificate())
        let channel = try await DatagramBootstrap(group: hub.loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            // Every datagram whole, up to UDP's maximum (the buffer is reused, not made per read):
            // the hub then refuses what is too large, rather than the socket cutting it short.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DatagramHandler(hub: hub)) }
            }
            .bind(host: configuration.rtpHost, port: configuration.rtpPort)
            .get()
        let port = channel.localAddress?.port ?? configuration.rtpPort
        try await hub.loop.submit {
            hub.dtlsContext = dtls
            hub.outbound = { buffer, address in
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
            }
        }.get()
        hub.startMaintenance(rtpHost: configuration.rtpHost, rtpPort: port)
        hub.logger.info("RTP ingest listening", metadata: [
            "address": "\(configuration.rtpHost):\(port)", "plain_rtp": "\(configuration.plainRTP ? "on" : "off")",
            "dtls_fingerprint": "\(dtls.certificate.fingerprint)",
        ])
        return RTPIngest(hub: hub, channel: channel)
    }

    public func close() async {
        hub.stopMaintenance()
        try? await channel.close()
    }

    private final class DatagramHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let hub: RoomHub

        init(hub: RoomHub) { self.hub = hub }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let sender = SourceAddress(envelope.remoteAddress) else { return }
            hub.receive(datagram: Array(envelope.data.readableBytesView), from: sender)
        }
    }
}
