import Logging
import NIOCore
import NIOPosix

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

    /// Binds the hub's RTP port and starts the hub's periodic work.
    public static func start(hub: RoomHub) async throws -> RTPIngest {
        let configuration = hub.configuration
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
        hub.startMaintenance(rtpHost: configuration.rtpHost, rtpPort: port)
        hub.logger.info("RTP ingest listening", metadata: ["address": "\(configuration.rtpHost):\(port)"])
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
