/// Counters for the hub and each of its tracks.
public struct HubStatistics: Sendable {
    public struct Track: Sendable {
        public var sid: String
        public var room: String
        public var identity: String
        public var packetsReceived: Int
        public var packetsLost: Int
        public var packetsLate: Int
        public var packetsReordered: Int
        public var packetsDuplicate: Int
        public var packetsWrongPayloadType: Int
        public var frames: Int
        public var bytes: Int
        public var packetsWrongSource: Int
        public var packetsOutOfRange: Int
        public var sequenceRestarts: Int
        public var framesOutOfTime: Int
        public var packetsNacked: Int
        public var packetsRecovered: Int
        public var keyFrameRequests: Int
        public var isWebRTC: Bool
    }

    public var tracks: [Track]
    /// Datagrams whose SSRC no published track has.
    public var unknownSSRCPackets: Int
    /// Datagrams that were neither RTP nor RTCP.
    public var malformedPackets: Int
    /// Datagrams over `RoomHubConfiguration.maxPacketSize`.
    public var oversizePackets: Int
    /// STUN that checked no session, DTLS/SRTP from unverified addresses, SRTP that failed
    /// authentication, plain RTP refused; open WHIP sessions.
    public var stunIgnored = 0
    public var securedUnrouted = 0
    public var securedRejected = 0
    public var plainRTPRefused = 0
    public var webRTCSessions = 0
}
