import Logging
import NIOCore
import Support
import WebRTC

/// The UDP port every publisher sends its RTP and RTCP to (and WHIP sessions their STUN, DTLS
/// and SRTP), read on the hub's own loop: each wake-up takes every datagram waiting.
public final class RTPIngest: Sendable {
    public let hub: RoomHub
    /// The bound port.
    public let port: Int
    private let socket: UDPPort

    /// Datagrams read per wake-up of the loop at most, before its tasks and timers get a turn.
    static let readsPerWakeUp = 256

    private init(hub: RoomHub, socket: UDPPort) {
        self.hub = hub
        self.socket = socket
        port = socket.port
    }

    /// Binds the hub's RTP port (WebRTC's too: a DTLS certificate is made for it) and starts
    /// the hub's periodic work.
    public static func start(hub: RoomHub) async throws -> RTPIngest {
        let configuration = hub.configuration
        for host in configuration.webRTCHosts where (try? SocketAddress(ipAddress: host, port: 0)) == nil {
            throw HubError.invalidArgument("WebRTC host \"\(host.prefix(64))\" is not a numeric IPv4 or IPv6 address")
        }
        let dtls = try DTLSContext(certificate: DTLSCertificate())
        // Every datagram whole up to the hub's limit, and one byte more: a longer one is read
        // cut short, and the hub refuses it as too large.
        let socket = try UDPPort(host: configuration.rtpHost, port: configuration.rtpPort,
                                 capacity: configuration.maxPacketSize + 1, receiveBufferSize: 4 << 20)
        let loop = hub.loop
        try await loop.submit {
            hub.dtlsContext = dtls
            hub.outbound = { bytes, address in socket.send(bytes, to: address) }
            loop.watch(socket.descriptor, pause: .nanoseconds(configuration.readPause.nanoseconds)) {
                let clocks = Arrival.now()
                let read = socket.receive(limit: readsPerWakeUp) { datagram in
                    guard let sender = datagram.sender else { return }
                    hub.receive(datagram: Array(datagram.bytes), from: sender, at: clocks.backdated(toWallClock: datagram.receivedAt))
                }
                // Rest only after a light read: under a flood (a batch or more at once) the kernel's
                // buffer, not the pause, would have to hold what comes, so the port is read on.
                return read < UDPPort.batch
            }
        }.get()
        hub.startMaintenance(rtpHost: configuration.rtpHost, rtpPort: socket.port)
        hub.logger.info("RTP ingest listening", metadata: [
            "address": "\(configuration.rtpHost):\(socket.port)", "plain_rtp": "\(configuration.plainRTP ? "on" : "off")",
            "dtls_fingerprint": "\(dtls.certificate.fingerprint)",
        ])
        return RTPIngest(hub: hub, socket: socket)
    }

    /// Stops reading and closes the port.
    public func close() async {
        hub.stopMaintenance()
        let (hub, socket) = (self.hub, self.socket)
        try? await hub.loop.submit {
            hub.loop.unwatch()
            hub.outbound = nil
            socket.close()
        }.get()
    }
}
