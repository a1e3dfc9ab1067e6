import Support

/// The hub's limits and timeouts.
public struct RoomHubConfiguration: Sendable {
    /// Address the RTP port binds to (127.0.0.1 unless told otherwise).
    public var rtpHost = "127.0.0.1"
    /// One UDP port for every track's RTP and RTCP (0: chosen by the system).
    public var rtpPort = 7882
    /// A participant that sends no RTP and makes no call for this long has left.
    public var participantTimeout: Duration = .seconds(20)
    /// How long a packet may wait in a jitter buffer for a missing predecessor.
    public var maxJitterDelay: Duration = .milliseconds(150)
    public var maxRooms = 1000
    public var maxParticipantsPerRoom = 100
    public var maxTracksPerParticipant = 8
    /// The largest datagram taken (16 KiB, above any MTU); larger ones are dropped and counted.
    /// Datagrams are read to one byte more, so a longer one is told from one of this size.
    public var maxPacketSize = 16 * 1024
    /// After the port is read empty, it is not looked at again for this long, so that what comes
    /// meanwhile is read with one call (zero: read whenever something comes). A WebRTC sender
    /// sends its packets one by one, and on a virtual machine each wake-up costs more than the
    /// packet's own work: 10 ms cut the ingest's CPU by a third (`Scripts/bench-ingest`). Arrival
    /// times are the kernel's, so a pause delays packets (by far less than the jitter buffer's
    /// wait) but does not move their times in feedback or timing.
    public var readPause: Duration = .milliseconds(10)
    /// Frames timed further than this from the server's clock, after the sender's clock offset
    /// is applied, are dropped and counted (a sender's reports jumping, or forged).
    public var maxClockSkew: Duration = .seconds(3600)
    /// Room names and identities (bytes; they end up in file names).
    public var maxNameLength = 255
    /// A participant's metadata (bytes).
    public var maxMetadataLength = 64 * 1024

    /// Plain (unencrypted) RTP publishing: RoomIngest tracks. Off: only WebRTC (WHIP) publishes.
    public var plainRTP = true
    /// WHIP sessions at most, over all rooms.
    public var maxWebRTCSessions = 500
    /// Addresses the answers' host candidates name; empty: the bound address.
    public var webRTCHosts: [String] = []
    /// A WHIP session whose ICE and DTLS are not done this long after its offer is closed.
    public var webRTCConnectTimeout: Duration = .seconds(30)
    /// A WebRTC track that sends nothing this long is muted (until its next packet).
    public var webRTCSilenceMute: Duration = .milliseconds(1500)
    /// The bitrate REMB tells WebRTC senders they may use (bits/s): what a 720p30 recording needs.
    public var webRTCMaxBitrate: UInt64 = 3_000_000

    public init() {}
}
